#include "storage/storage.h"

namespace ota::storage {

BlobLease::BlobLease(BlobLease&& other) noexcept : storage_(other.storage_), digests_(std::move(other.digests_)) {
  other.digests_.clear();
}

BlobLease::~BlobLease() {
  for (const auto& d : digests_) storage_->unpin(d);
}

void BlobLease::pin(const Sha256& d) {
  storage_->pin(d);
  digests_.push_back(d);
}

// Every write pins its digest *before* touching the store: put() of content that already exists
// writes nothing, and without the pin a garbage collector could delete that existing blob between
// the existence check and the commit that references it.
Result<Sha256> BlobLease::put(std::string_view bytes) { return put_verified(bytes, crypto::sha256(bytes)); }

Result<Sha256> BlobLease::put_verified(std::string_view bytes, const Sha256& expected) {
  pin(expected);
  auto stored = storage_->blobs().put_verified(bytes, expected);
  if (!stored) unpin_last();
  return stored;
}

Result<std::vector<Sha256>> BlobLease::put_many(std::span<const std::string_view> blobs) {
  size_t before = digests_.size();
  for (std::string_view bytes : blobs) pin(crypto::sha256(bytes));
  auto stored = storage_->blobs().put_many(blobs);
  if (!stored) {
    while (digests_.size() > before) unpin_last();
  }
  return stored;
}

Status BlobLease::adopt(const Sha256& digest) {
  // Pin first, then check: a garbage collector running in between sees the pin and keeps it.
  pin(digest);
  auto present = storage_->blobs().has(digest);
  if (!present || !*present) {
    unpin_last();
    if (!present) return std::move(present).error();
    return not_found("blob " + digest.base64url() + " is not stored; upload it before committing");
  }
  return ok();
}

void BlobLease::unpin_last() {
  storage_->unpin(digests_.back());
  digests_.pop_back();
}

Storage::Storage(std::unique_ptr<metadata::Database> db, std::unique_ptr<blobs::BlobStore> blobs)
    : db_(std::move(db)), blobs_(std::move(blobs)) {}

Status Storage::commit(const BlobLease& lease, const std::function<Status(metadata::WriteTransaction&)>& fill) {
  if (lease.storage_ != this) return internal_error("blob lease belongs to another storage");
  OTA_ASSIGN_OR_RETURN(auto tx, db_->begin_write());
  OTA_TRY(fill(tx));
  return tx.commit();
}

bool Storage::is_pinned(const Sha256& digest) const {
  std::lock_guard lock(pins_mutex_);
  return pins_.contains(digest);
}

void Storage::note_upload(const Sha256& digest, int64_t now_ms) {
  std::lock_guard lock(pins_mutex_);
  uploads_[digest] = now_ms;
}

bool Storage::recently_uploaded(const Sha256& digest, int64_t now_ms, int64_t grace_ms) {
  std::lock_guard lock(pins_mutex_);
  for (auto it = uploads_.begin(); it != uploads_.end();) {
    it = now_ms - it->second >= grace_ms ? uploads_.erase(it) : std::next(it);
  }
  return uploads_.contains(digest);
}

void Storage::pin(const Sha256& d) {
  std::lock_guard lock(pins_mutex_);
  ++pins_[d];
}

void Storage::unpin(const Sha256& d) {
  std::lock_guard lock(pins_mutex_);
  auto it = pins_.find(d);
  if (it != pins_.end() && --it->second == 0) pins_.erase(it);
}

}  // namespace ota::storage
