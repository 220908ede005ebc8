#include "storage/storage.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace ota::storage {
namespace {

// A Storage over a real SQLite file and RocksDB directory in `dir`, with one table that
// references blobs by digest, as published updates do.
std::unique_ptr<Storage> open_storage(const testing::TempDir& dir) {
  auto db = metadata::Database::open({.path = dir / "metadata.db"});
  EXPECT_TRUE(db) << db.error().message();
  auto store = blobs::BlobStore::open({.dir = dir / "blobs"});
  EXPECT_TRUE(store) << store.error().message();
  if (!db || !store) return nullptr;
  {
    auto tx = (*db)->begin_write();
    EXPECT_TRUE(tx) << tx.error().message();
    if (!tx) return nullptr;
    Status s = tx->conn().exec("CREATE TABLE assets (name TEXT PRIMARY KEY, digest BLOB NOT NULL)");
    EXPECT_TRUE(s) << s.error().message();
    s = tx->commit();
    EXPECT_TRUE(s) << s.error().message();
  }
  return std::make_unique<Storage>(std::move(*db), std::move(*store));
}

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = open_storage(dir_);
    ASSERT_NE(storage_, nullptr);
  }

  // name -> digest of every committed asset row, as a fresh reader sees them.
  std::vector<std::pair<std::string, Sha256>> assets() {
    std::vector<std::pair<std::string, Sha256>> out;
    auto tx = storage_->db().begin_read();
    EXPECT_TRUE(tx) << tx.error().message();
    if (!tx) return out;
    auto q = tx->query("SELECT name, digest FROM assets ORDER BY name");
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return out;
    while (true) {
      auto row = q->next();
      EXPECT_TRUE(row) << row.error().message();
      if (!row || !*row) break;
      auto digest = Sha256::from_bytes(q->blob(1));
      EXPECT_TRUE(digest) << "malformed digest for " << q->text(0);
      if (digest) out.emplace_back(q->text(0), *digest);
    }
    return out;
  }

  static Status insert_asset(metadata::WriteTransaction& tx, const std::string& name, const Sha256& d) {
    auto inserted = tx.execute("INSERT INTO assets (name, digest) VALUES (?, ?)", name, metadata::Blob{d.view()});
    if (!inserted) return std::move(inserted).error().context("insert asset " + name);
    return ok();
  }

  testing::TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(StorageTest, LeasePutPinsUntilTheLeaseIsDestroyed) {
  Sha256 d;
  {
    BlobLease lease = storage_->lease();
    auto put = lease.put("bundle");
    ASSERT_TRUE(put) << put.error().message();
    d = *put;
    EXPECT_EQ(d, crypto::sha256("bundle"));
    EXPECT_TRUE(storage_->is_pinned(d));
    EXPECT_EQ(lease.digests(), std::vector<Sha256>{d});
  }
  EXPECT_FALSE(storage_->is_pinned(d));
  // Unpinning is not deleting.
  auto has = storage_->blobs().has(d);
  ASSERT_TRUE(has) << has.error().message();
  EXPECT_TRUE(*has);
}

TEST_F(StorageTest, TwoLeasesPinningTheSameDigestKeepItPinnedUntilBothEnd) {
  std::optional<BlobLease> first(storage_->lease());
  std::optional<BlobLease> second(storage_->lease());
  auto a = first->put("shared asset");
  auto b = second->put("shared asset");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*a, *b);
  first.reset();
  EXPECT_TRUE(storage_->is_pinned(*a));
  second.reset();
  EXPECT_FALSE(storage_->is_pinned(*a));
}

TEST_F(StorageTest, OneLeasePinningADigestTwiceReleasesItOnce) {
  Sha256 d;
  {
    BlobLease lease = storage_->lease();
    auto a = lease.put("asset");
    ASSERT_TRUE(a) << a.error().message();
    d = *a;
    Status adopted = lease.adopt(d);
    ASSERT_TRUE(adopted) << adopted.error().message();
  }
  EXPECT_FALSE(storage_->is_pinned(d));
}

TEST_F(StorageTest, MovedLeaseKeepsThePins) {
  Sha256 d;
  std::optional<BlobLease> moved;
  {
    BlobLease original = storage_->lease();
    auto put = original.put("asset");
    ASSERT_TRUE(put) << put.error().message();
    d = *put;
    moved.emplace(std::move(original));
  }
  EXPECT_TRUE(storage_->is_pinned(d));
  EXPECT_EQ(moved->digests(), std::vector<Sha256>{d});
  moved.reset();
  EXPECT_FALSE(storage_->is_pinned(d));
}

TEST_F(StorageTest, PutManyPinsEveryDigest) {
  const std::vector<std::string_view> batch = {"a", "b", "a"};
  std::vector<Sha256> ds;
  {
    BlobLease lease = storage_->lease();
    auto put = lease.put_many(batch);
    ASSERT_TRUE(put) << put.error().message();
    ds = *put;
    for (const auto& d : ds) EXPECT_TRUE(storage_->is_pinned(d));
  }
  for (const auto& d : ds) EXPECT_FALSE(storage_->is_pinned(d));
}

TEST_F(StorageTest, PutVerifiedWithWrongDigestPinsNothing) {
  BlobLease lease = storage_->lease();
  const Sha256 declared = crypto::sha256("declared");
  auto put = lease.put_verified("actual", declared);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(storage_->is_pinned(declared));
  EXPECT_FALSE(storage_->is_pinned(crypto::sha256("actual")));
  EXPECT_TRUE(lease.digests().empty());
}

TEST_F(StorageTest, AdoptPinsABlobStoredEarlier) {
  auto stored = storage_->blobs().put("uploaded by an earlier request");
  ASSERT_TRUE(stored) << stored.error().message();
  EXPECT_FALSE(storage_->is_pinned(*stored));
  BlobLease lease = storage_->lease();
  Status s = lease.adopt(*stored);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_TRUE(storage_->is_pinned(*stored));
}

TEST_F(StorageTest, AdoptOfAnAbsentDigestIsNotFound) {
  BlobLease lease = storage_->lease();
  const Sha256 absent = crypto::sha256("never uploaded");
  Status s = lease.adopt(absent);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(s.error().message().find(absent.base64url()), std::string::npos) << s.error().message();
  // Regression: a failed adopt must not leave the digest pinned or listed in the lease.
  EXPECT_FALSE(storage_->is_pinned(absent));
  EXPECT_TRUE(lease.digests().empty());
}

// Regression: putting content that already exists writes nothing, so the pin must be taken
// before the existence check, or a collector could delete the blob before the commit.
TEST_F(StorageTest, PutOfExistingContentIsPinnedBeforeTheStoreIsAsked) {
  auto stored = storage_->blobs().put("already there, unreferenced");
  ASSERT_TRUE(stored);
  BlobLease lease = storage_->lease();
  auto again = lease.put("already there, unreferenced");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *stored);
  EXPECT_TRUE(storage_->is_pinned(*stored));
  ASSERT_EQ(lease.digests().size(), 1u);
}

TEST_F(StorageTest, CommitRunsFillInOneTransactionAndMakesRowsVisible) {
  BlobLease lease = storage_->lease();
  auto bundle = lease.put("bundle bytes");
  auto icon = lease.put("icon bytes");
  ASSERT_TRUE(bundle && icon);
  int calls = 0;
  Status s = storage_->commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    ++calls;
    OTA_TRY(insert_asset(tx, "bundle", *bundle));
    OTA_TRY(insert_asset(tx, "icon", *icon));
    return ok();
  });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(calls, 1);

  auto rows = assets();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::pair<std::string, Sha256>{"bundle", *bundle}));
  EXPECT_EQ(rows[1], (std::pair<std::string, Sha256>{"icon", *icon}));
  // The ordering rule: every committed reference points at a stored blob.
  for (const auto& [name, digest] : rows) {
    auto has = storage_->blobs().has(digest);
    ASSERT_TRUE(has) << has.error().message();
    EXPECT_TRUE(*has) << name;
  }
}

TEST_F(StorageTest, RowsOfARunningCommitAreInvisibleToReaders) {
  BlobLease lease = storage_->lease();
  auto d = lease.put("bytes");
  ASSERT_TRUE(d) << d.error().message();
  size_t seen_during_fill = 99;
  Status s = storage_->commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_TRY(insert_asset(tx, "a", *d));
    seen_during_fill = assets().size();
    return ok();
  });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(seen_during_fill, 0u);
  EXPECT_EQ(assets().size(), 1u);
}

TEST_F(StorageTest, FailingFillLeavesNothingVisible) {
  BlobLease lease = storage_->lease();
  auto d = lease.put("bytes");
  ASSERT_TRUE(d) << d.error().message();
  Status s = storage_->commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_TRY(insert_asset(tx, "half", *d));
    return Error(ErrorCode::kInvalidArgument, "manifest is missing launchAsset");
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.error().message().find("launchAsset"), std::string::npos) << s.error().message();
  EXPECT_TRUE(assets().empty());

  // The writer is free again for the next publish.
  Status next = storage_->commit(lease, [&](metadata::WriteTransaction& tx) { return insert_asset(tx, "ok", *d); });
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(assets().size(), 1u);
}

TEST_F(StorageTest, ConstraintViolationInFillIsConflictAndRollsBack) {
  BlobLease lease = storage_->lease();
  auto d = lease.put("bytes");
  ASSERT_TRUE(d) << d.error().message();
  Status s = storage_->commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_TRY(insert_asset(tx, "first", *d));
    OTA_TRY(insert_asset(tx, "dup", *d));
    OTA_TRY(insert_asset(tx, "dup", *d));
    return ok();
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kConflict) << s.error().message();
  EXPECT_NE(s.error().message().find("insert asset dup"), std::string::npos) << s.error().message();
  EXPECT_TRUE(assets().empty());
}

TEST_F(StorageTest, CommitRefusesALeaseOfAnotherStorage) {
  testing::TempDir other_dir;
  auto other = open_storage(other_dir);
  ASSERT_NE(other, nullptr);
  BlobLease foreign = other->lease();
  bool filled = false;
  Status s = storage_->commit(foreign, [&](metadata::WriteTransaction&) {
    filled = true;
    return ok();
  });
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInternal);
  EXPECT_FALSE(filled);
}

TEST_F(StorageTest, CommittedRowsAndBlobsSurviveReopen) {
  Sha256 d;
  {
    BlobLease lease = storage_->lease();
    auto put = lease.put("durable bundle");
    ASSERT_TRUE(put) << put.error().message();
    d = *put;
    Status s = storage_->commit(lease, [&](metadata::WriteTransaction& tx) { return insert_asset(tx, "b", d); });
    ASSERT_TRUE(s) << s.error().message();
  }
  storage_.reset();
  auto db = metadata::Database::open({.path = dir_ / "metadata.db"});
  ASSERT_TRUE(db) << db.error().message();
  auto store = blobs::BlobStore::open({.dir = dir_ / "blobs"});
  ASSERT_TRUE(store) << store.error().message();
  storage_ = std::make_unique<Storage>(std::move(*db), std::move(*store));
  auto rows = assets();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].second, d);
  auto blob = storage_->blobs().get(d);
  ASSERT_TRUE(blob && *blob);
  EXPECT_EQ((*blob)->bytes(), "durable bundle");
}

}  // namespace
}  // namespace ota::storage
