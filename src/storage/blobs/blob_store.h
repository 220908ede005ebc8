// The blob store: immutable byte strings keyed by the SHA-256 of their content, in one RocksDB
// directory. The only module that includes RocksDB headers. Key layout: docs/storage-format.md.
//
// Threading: every method is safe to call from any thread.
// Durability: put() and put_many() return only after the write-ahead log is synced, so a blob
// whose put returned OK survives kill -9 and power loss. That is the first half of the publish
// ordering rule (storage/durable_commit.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "crypto/digest.h"

namespace rocksdb {
class DB;
class PinnableSlice;
}  // namespace rocksdb

namespace ota::blobs {

using crypto::Sha256;

struct BlobStoreOptions {
  std::filesystem::path dir;
  // fsync the WAL before put() returns. Off only in benchmarks that measure something else.
  bool sync = true;
  // RocksDB's block cache. otaserver keeps the blobs of servable updates in its own memory cache,
  // so this only needs to absorb re-reads during publishing.
  size_t block_cache_bytes = 16u << 20;
  // SST data block size. Chosen by bench/blob_store_bench.cpp (see docs/storage-format.md).
  size_t block_size = 64u << 10;
};

// The bytes of one blob, read without copying: a view into RocksDB's pinned block (or its own
// buffer). Valid for the lifetime of this object.
class PinnedBlob {
 public:
  PinnedBlob(PinnedBlob&&) noexcept;
  PinnedBlob& operator=(PinnedBlob&&) noexcept;
  ~PinnedBlob();
  std::string_view bytes() const;
  size_t size() const { return bytes().size(); }

 private:
  friend class BlobStore;
  explicit PinnedBlob(std::unique_ptr<rocksdb::PinnableSlice> slice);
  std::unique_ptr<rocksdb::PinnableSlice> slice_;
};

class BlobStore {
 public:
  // Opens or creates the store. Fails with a clear message if another process has it open.
  static Result<std::unique_ptr<BlobStore>> open(const BlobStoreOptions& options);
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  // Stores `bytes` under its SHA-256 and returns the digest. Idempotent: an existing blob is not
  // written again. Errors: kNoSpace when the disk is full, kInternal on I/O errors.
  Result<Sha256> put(std::string_view bytes);
  // As put(), but refuses (kInvalidArgument) bytes whose SHA-256 is not `expected`.
  Result<Sha256> put_verified(std::string_view bytes, const Sha256& expected);
  // Stores several blobs with one WAL sync: the cheap way to make a whole update durable.
  Result<std::vector<Sha256>> put_many(std::span<const std::string_view> blobs);

  // nullopt if absent. Errors: kCorruption if RocksDB's checksums fail.
  Result<std::optional<PinnedBlob>> get(const Sha256& digest) const;
  Result<bool> has(const Sha256& digest) const;
  // The stored length, or nullopt if absent.
  Result<std::optional<uint64_t>> size(const Sha256& digest) const;

  // Removes a blob (garbage collection only: published content is never overwritten).
  Status remove(const Sha256& digest);
  // Calls fn for every stored digest, in key order; stop early by returning false.
  Status for_each(const std::function<bool(const Sha256&, uint64_t size)>& fn) const;

  // Bytes on disk (SST files plus memtables), for metrics and logs.
  uint64_t approximate_bytes() const;

  // A consistent point-in-time copy of the store in `directory` (which must not exist), openable
  // by BlobStore::open. Files are hard-linked when `directory` is on the same filesystem (instant,
  // no extra space) and copied otherwise. The memtable is flushed first, so no log is needed.
  Status checkpoint_to(const std::filesystem::path& directory);

 private:
  BlobStore(BlobStoreOptions options, std::unique_ptr<rocksdb::DB> db);
  Status write_batch(std::span<const std::pair<Sha256, std::string_view>> entries);

  BlobStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace ota::blobs
