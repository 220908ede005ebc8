#include "protocol/expo/asset_library.h"

#include <algorithm>

#include "common/clock.h"

namespace ota::expo {
namespace {

Result<std::shared_ptr<const std::string>> read_blob(storage::Storage& storage, const crypto::Sha256& d) {
  OTA_ASSIGN_OR_RETURN(auto blob, storage.blobs().get(d));
  if (!blob) {
    return corruption("blob " + d.base64url() + " is referenced by an update but missing from the blob store");
  }
  return std::make_shared<const std::string>(blob->bytes());
}

}  // namespace

size_t ServedAsset::bytes() const {
  return (identity ? identity->size() : 0) + (gzip ? gzip->size() : 0) + (br ? br->size() : 0);
}

Result<std::shared_ptr<const ServedAsset>> AssetLibrary::find(int64_t app_id, const crypto::Sha256& sha256) {
  std::string key = std::to_string(app_id) + ":";
  key.append(sha256.view());
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return it->second.asset;
    }
  }
  OTA_ASSIGN_OR_RETURN(auto asset, load(app_id, sha256));
  std::lock_guard lock(mutex_);
  if (entries_.contains(key)) return entries_[key].asset;  // another thread loaded it meanwhile
  lru_.push_front(key);
  entries_[key] = {asset, lru_.begin()};
  bytes_ += asset->bytes();
  while (bytes_ > budget_ && lru_.size() > 1) {
    auto victim = entries_.find(lru_.back());
    bytes_ -= victim->second.asset->bytes();
    entries_.erase(victim);
    lru_.pop_back();
  }
  return asset;
}

Result<std::shared_ptr<const ServedAsset>> AssetLibrary::load(int64_t app_id, const crypto::Sha256& sha256) {
  auto asset = std::make_shared<ServedAsset>();
  std::optional<crypto::Sha256> gzip_sha, br_sha;
  {
    OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT a.content_type, a.created_at_ms, a.gzip_sha256, a.br_sha256 "
                                          "FROM assets a WHERE a.sha256 = ?1 AND EXISTS (SELECT 1 FROM update_assets ua "
                                          "JOIN updates u ON u.id = ua.update_id WHERE ua.sha256 = ?1 AND u.app_id = ?2)",
                                          metadata::Blob{sha256.view()}, app_id));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (!found) return not_found("no asset " + sha256.base64url() + " in this app");
    asset->content_type = q.text(0);
    asset->last_modified_ms = q.int64(1);
    if (!q.is_null(2)) gzip_sha = crypto::Sha256::from_bytes(q.blob(2));
    if (!q.is_null(3)) br_sha = crypto::Sha256::from_bytes(q.blob(3));
  }
  asset->sha256 = sha256;
  asset->etag = "\"" + sha256.base64url() + "\"";
  asset->last_modified = format_http_date(asset->last_modified_ms);
  OTA_ASSIGN_OR_RETURN(asset->identity, blob_bytes(sha256));
  if (gzip_sha) {
    OTA_ASSIGN_OR_RETURN(asset->gzip, blob_bytes(*gzip_sha));
  }
  if (br_sha) {
    OTA_ASSIGN_OR_RETURN(asset->br, blob_bytes(*br_sha));
  }
  return std::shared_ptr<const ServedAsset>(std::move(asset));
}

Result<std::shared_ptr<const std::string>> AssetLibrary::blob_bytes(const crypto::Sha256& digest) {
  std::string key(digest.view());
  {
    std::lock_guard lock(mutex_);
    auto it = blobs_.find(key);
    if (it != blobs_.end()) {
      if (auto bytes = it->second.lock()) return bytes;
    }
  }
  OTA_ASSIGN_OR_RETURN(auto bytes, read_blob(storage_, digest));
  std::lock_guard lock(mutex_);
  // Entries of evicted assets expire; drop them before the map outgrows the live set.
  if (blobs_.size() > 2 * entries_.size() + 16) std::erase_if(blobs_, [](const auto& b) { return b.second.expired(); });
  auto [it, added] = blobs_.try_emplace(std::move(key), bytes);
  if (!added) {
    if (auto existing = it->second.lock()) return existing;  // another thread read it meanwhile
    it->second = bytes;
  }
  return bytes;
}

void AssetLibrary::forget(const std::vector<crypto::Sha256>& digests) {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    const ServedAsset& a = *it->second.asset;
    bool gone = std::any_of(digests.begin(), digests.end(), [&](const crypto::Sha256& d) { return d == a.sha256; });
    if (gone) {
      bytes_ -= a.bytes();
      lru_.erase(it->second.lru);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t AssetLibrary::cached_bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace ota::expo
