#include "storage/blobs/blob_store.h"

#include <algorithm>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

namespace ota::blobs {
namespace {

// Keys: a one-byte kind tag, then the 32 raw digest bytes. 'b' holds the content; 's' holds its
// length as 8 little-endian bytes, written in the same batch, so has(), size() and scans never
// read a multi-megabyte value. Later kinds (compressed variants, patches) get their own tags.
constexpr char kBlobTag = 'b';
constexpr char kSizeTag = 's';

std::string key_of(char tag, const Sha256& d) {
  std::string key(1, tag);
  key.append(d.view());
  return key;
}
std::string blob_key(const Sha256& d) { return key_of(kBlobTag, d); }
std::string size_key(const Sha256& d) { return key_of(kSizeTag, d); }

std::string encode_size(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i) & 0xff);
  return out;
}

std::optional<uint64_t> decode_size(std::string_view v) {
  if (v.size() != 8) return std::nullopt;
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(v[static_cast<size_t>(i)]);
  return n;
}

Error rocks_error(const rocksdb::Status& s, std::string_view what) {
  std::string message = std::string(what) + ": " + s.ToString();
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kNoSpace) {
    return no_space(message + " (free disk space; otaserver resumes writing once space is back)");
  }
  if (s.IsCorruption()) return corruption(message + " (run `otaserver fsck --deep`, or restore from a backup)");
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return conflict(message + " (another otaserver process has this data directory open)");
  }
  return internal_error(message);
}

rocksdb::Slice slice(std::string_view v) { return {v.data(), v.size()}; }

}  // namespace

PinnedBlob::PinnedBlob(std::unique_ptr<rocksdb::PinnableSlice> slice) : slice_(std::move(slice)) {}
PinnedBlob::PinnedBlob(PinnedBlob&&) noexcept = default;
PinnedBlob& PinnedBlob::operator=(PinnedBlob&&) noexcept = default;
PinnedBlob::~PinnedBlob() = default;
std::string_view PinnedBlob::bytes() const { return {slice_->data(), slice_->size()}; }

BlobStore::BlobStore(BlobStoreOptions options, std::unique_ptr<rocksdb::DB> db)
    : options_(std::move(options)), db_(std::move(db)) {}

BlobStore::~BlobStore() {
  if (db_) {
    (void)db_->FlushWAL(true);
    (void)db_->Close();
  }
}

Result<std::unique_ptr<BlobStore>> BlobStore::open(const BlobStoreOptions& options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.paranoid_checks = true;
  // Values are mostly already-compressed images or Hermes bytecode, and compressed variants are
  // stored separately for HTTP; compressing here would only cost CPU on every read.
  o.compression = rocksdb::kNoCompression;
  // Plain SST, not BlobDB: the baseline measured BlobDB 7.8 warm reads of 4 MB values 13x slower.
  o.enable_blob_files = false;
  o.max_background_jobs = 2;
  // Published blobs sit in the memtable until a flush; the default 64 MiB buffer kept a whole
  // publish's bytes resident for good. Small buffers flush after each sizeable publish.
  o.write_buffer_size = 4u << 20;
  o.keep_log_file_num = 5;
  o.max_log_file_size = 8u << 20;
  o.recycle_log_file_num = 0;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  // Whole-key bloom filters make has() for a missing blob (every publish asks) skip disk reads.
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_size = options.block_size;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, options.dir.string(), &raw);
  if (!s.ok()) return rocks_error(s, "cannot open blob store " + options.dir.string());
  return std::unique_ptr<BlobStore>(new BlobStore(options, std::unique_ptr<rocksdb::DB>(raw)));
}

Status BlobStore::write_batch(std::span<const std::pair<Sha256, std::string_view>> entries) {
  rocksdb::WriteBatch batch;
  for (const auto& [digest, bytes] : entries) {
    rocksdb::Status s = batch.Put(blob_key(digest), slice(bytes));
    if (s.ok()) s = batch.Put(size_key(digest), encode_size(bytes.size()));
    if (!s.ok()) return rocks_error(s, "prepare blob write");
  }
  if (batch.Count() == 0) return ok();
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  rocksdb::Status s = db_->Write(w, &batch);
  if (!s.ok()) return rocks_error(s, "write blobs");
  return ok();
}

Result<Sha256> BlobStore::put(std::string_view bytes) { return put_verified(bytes, crypto::sha256(bytes)); }

Result<Sha256> BlobStore::put_verified(std::string_view bytes, const Sha256& expected) {
  Sha256 actual = crypto::sha256(bytes);
  if (actual != expected) {
    return invalid_argument("content does not match its declared SHA-256 (declared " + expected.base64url() +
                            ", actual " + actual.base64url() + "); the upload was corrupted, retry it");
  }
  OTA_ASSIGN_OR_RETURN(bool present, has(actual));
  if (present) return actual;
  std::pair<Sha256, std::string_view> entry{actual, bytes};
  OTA_TRY(write_batch({&entry, 1}));
  return actual;
}

Result<std::vector<Sha256>> BlobStore::put_many(std::span<const std::string_view> blobs) {
  std::vector<Sha256> digests;
  std::vector<std::pair<Sha256, std::string_view>> missing;
  digests.reserve(blobs.size());
  for (std::string_view bytes : blobs) {
    Sha256 d = crypto::sha256(bytes);
    digests.push_back(d);
    OTA_ASSIGN_OR_RETURN(bool present, has(d));
    bool queued = std::any_of(missing.begin(), missing.end(), [&](const auto& e) { return e.first == d; });
    if (!present && !queued) missing.emplace_back(d, bytes);
  }
  OTA_TRY(write_batch(missing));
  return digests;
}

Result<std::optional<PinnedBlob>> BlobStore::get(const Sha256& digest) const {
  auto value = std::make_unique<rocksdb::PinnableSlice>();
  rocksdb::ReadOptions r;
  r.verify_checksums = true;
  // Callers keep what they serve (the asset library); a second copy in the block cache would
  // only double the memory and evict the small records that are worth caching.
  r.fill_cache = false;
  rocksdb::Status s = db_->Get(r, db_->DefaultColumnFamily(), blob_key(digest), value.get());
  if (s.IsNotFound()) return std::optional<PinnedBlob>();
  if (!s.ok()) return rocks_error(s, "read blob " + digest.base64url());
  return std::optional<PinnedBlob>(PinnedBlob(std::move(value)));
}

Result<bool> BlobStore::has(const Sha256& digest) const {
  OTA_ASSIGN_OR_RETURN(auto size_or_none, size(digest));
  return size_or_none.has_value();
}

Result<std::optional<uint64_t>> BlobStore::size(const Sha256& digest) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), size_key(digest), &value);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return rocks_error(s, "read blob size " + digest.base64url());
  auto n = decode_size(std::string_view(value.data(), value.size()));
  if (!n) return corruption("blob size record of " + digest.base64url() + " is malformed");
  return n;
}

Status BlobStore::remove(const Sha256& digest) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s = batch.Delete(blob_key(digest));
  if (s.ok()) s = batch.Delete(size_key(digest));
  rocksdb::WriteOptions w;
  w.sync = options_.sync;
  if (s.ok()) s = db_->Write(w, &batch);
  if (!s.ok()) return rocks_error(s, "delete blob " + digest.base64url());
  return ok();
}

Status BlobStore::for_each(const std::function<bool(const Sha256&, uint64_t)>& fn) const {
  rocksdb::ReadOptions r;
  r.fill_cache = false;  // a full scan must not evict the hot set
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(r));
  std::string prefix(1, kSizeTag);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto digest = Sha256::from_bytes(std::string_view(it->key().data() + 1, it->key().size() - 1));
    auto n = decode_size(std::string_view(it->value().data(), it->value().size()));
    if (!digest || !n) {
      return corruption("blob store holds a malformed size record of " + std::to_string(it->key().size()) + " bytes");
    }
    if (!fn(*digest, *n)) return ok();
  }
  if (!it->status().ok()) return rocks_error(it->status(), "scan blobs");
  return ok();
}

uint64_t BlobStore::approximate_bytes() const {
  uint64_t sst = 0, mem = 0;
  db_->GetIntProperty(rocksdb::DB::Properties::kTotalSstFilesSize, &sst);
  db_->GetIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables, &mem);
  return sst + mem;
}

Status BlobStore::checkpoint_to(const std::filesystem::path& directory) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status st = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (st.ok()) st = checkpoint->CreateCheckpoint(directory.string(), /*log_size_for_flush=*/0);
  if (!st.ok()) {
    ErrorCode code = st.IsNoSpace() ? ErrorCode::kNoSpace : ErrorCode::kUnavailable;
    return Error(code, "blob store checkpoint to " + directory.string() + " failed: " + st.ToString());
  }
  return ok();
}

}  // namespace ota::blobs
