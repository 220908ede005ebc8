// Storage: the metadata database and the blob store together, and the one ordering rule that
// makes publishing crash-safe (docs/reliability.md §3.2):
//
//   1. blobs are written and made durable first (a BlobLease collects and pins them);
//   2. then ONE SQLite transaction that references them is committed (Storage::commit).
//
// A crash between 1 and 2 leaves only unreferenced blobs, which garbage collection reclaims after
// its grace period; it can never leave metadata that points at a missing blob.
//
// Threading: all methods are safe from any thread. Each BlobLease belongs to one publish.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"
#include "common/thread_annotations.h"
#include "storage/blobs/blob_store.h"
#include "storage/metadata/database.h"

namespace ota::storage {

using blobs::Sha256;

class Storage;

// The blobs one publish has made durable so far. While the lease lives, garbage collection treats
// them as referenced. Move-only; unpins on destruction.
class BlobLease {
 public:
  BlobLease(BlobLease&& other) noexcept;
  BlobLease& operator=(BlobLease&&) = delete;
  BlobLease(const BlobLease&) = delete;
  ~BlobLease();

  // Stores bytes durably (idempotent) and pins the digest.
  Result<Sha256> put(std::string_view bytes);
  Result<Sha256> put_verified(std::string_view bytes, const Sha256& expected);
  // Several at once with a single WAL sync.
  Result<std::vector<Sha256>> put_many(std::span<const std::string_view> blobs);
  // Pins a blob that is already stored (uploaded by an earlier request). kNotFound if absent.
  Status adopt(const Sha256& digest);

  const std::vector<Sha256>& digests() const { return digests_; }

 private:
  friend class Storage;
  explicit BlobLease(Storage* storage) : storage_(storage) {}
  void pin(const Sha256& d);
  void unpin_last();

  Storage* storage_;
  std::vector<Sha256> digests_;
};

class Storage {
 public:
  Storage(std::unique_ptr<metadata::Database> db, std::unique_ptr<blobs::BlobStore> blobs);

  metadata::Database& db() { return *db_; }
  blobs::BlobStore& blobs() { return *blobs_; }

  BlobLease lease() { return BlobLease(this); }

  // Runs `fill` inside one write transaction and commits it. Every blob in `lease` is durable
  // before this is called (put() synced it), so `fill` may reference them. If `fill` or the commit
  // fails, nothing of the transaction is visible.
  Status commit(const BlobLease& lease, const std::function<Status(metadata::WriteTransaction&)>& fill);

  // True while some live lease pins `digest` (garbage collection asks before deleting).
  bool is_pinned(const Sha256& digest) const OTA_EXCLUDES(pins_mutex_);

  // Records that a client uploaded `digest` at `now_ms`: the first step of a publish whose commit
  // comes in a later request. Garbage collection leaves such blobs alone for its grace period.
  void note_upload(const Sha256& digest, int64_t now_ms) OTA_EXCLUDES(pins_mutex_);
  // True if `digest` was uploaded less than `grace_ms` before `now_ms`. Forgets older entries.
  bool recently_uploaded(const Sha256& digest, int64_t now_ms, int64_t grace_ms) OTA_EXCLUDES(pins_mutex_);

  // Blob deletions (garbage collection) hold this while they delete; a backup holds it between
  // copying the metadata and checkpointing the blobs, so no blob the copied metadata references
  // can disappear in between.
  std::unique_lock<std::mutex> hold_deletions() { return std::unique_lock(deletions_mutex_); }

 private:
  friend class BlobLease;
  void pin(const Sha256& d) OTA_EXCLUDES(pins_mutex_);
  void unpin(const Sha256& d) OTA_EXCLUDES(pins_mutex_);

  std::unique_ptr<metadata::Database> db_;
  std::unique_ptr<blobs::BlobStore> blobs_;
  mutable std::mutex pins_mutex_;
  std::mutex deletions_mutex_;
  std::map<Sha256, int> pins_ OTA_GUARDED_BY(pins_mutex_);
  std::map<Sha256, int64_t> uploads_ OTA_GUARDED_BY(pins_mutex_);
};

}  // namespace ota::storage
