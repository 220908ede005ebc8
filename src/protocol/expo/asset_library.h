// Asset bytes for serving: identity and precompressed variants as shared immutable buffers, read
// from the blob store once and then streamed to every client without a copy per response.
//
// Threading: all methods are safe from any thread.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "crypto/digest.h"
#include "storage/storage.h"

namespace ota::expo {

struct ServedAsset {
  crypto::Sha256 sha256;
  std::string etag;           // "\"<base64url sha256>\""
  std::string content_type;
  int64_t last_modified_ms = 0;
  std::string last_modified;  // HTTP date
  std::shared_ptr<const std::string> identity;
  std::shared_ptr<const std::string> gzip;  // null when not stored
  std::shared_ptr<const std::string> br;
  size_t bytes() const;
};

class AssetLibrary {
 public:
  AssetLibrary(storage::Storage& storage, size_t budget_bytes) : storage_(storage), budget_(budget_bytes) {}

  // The asset if `app_id` references it from any update; kNotFound otherwise (an asset of another
  // app is not served under this app's URL). Loads and caches on first use; least recently used
  // entries are dropped beyond the budget.
  Result<std::shared_ptr<const ServedAsset>> find(int64_t app_id, const crypto::Sha256& sha256);

  size_t cached_bytes() const;

  // Drops cached entries of blobs that garbage collection removed.
  void forget(const std::vector<crypto::Sha256>& digests);

 private:
  struct Entry {
    std::shared_ptr<const ServedAsset> asset;
    std::list<std::string>::iterator lru;
  };
  Result<std::shared_ptr<const ServedAsset>> load(int64_t app_id, const crypto::Sha256& sha256);
  // The bytes of a blob, shared with every entry that already holds them: apps that publish the
  // same files (and an asset's identity and coded forms across apps) keep one copy in memory.
  Result<std::shared_ptr<const std::string>> blob_bytes(const crypto::Sha256& digest);

  storage::Storage& storage_;
  size_t budget_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_ OTA_GUARDED_BY(mutex_);  // key: app id + digest
  std::list<std::string> lru_ OTA_GUARDED_BY(mutex_);                      // front = most recent
  size_t bytes_ OTA_GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::string, std::weak_ptr<const std::string>> blobs_ OTA_GUARDED_BY(mutex_);  // key: digest
};

}  // namespace ota::expo
