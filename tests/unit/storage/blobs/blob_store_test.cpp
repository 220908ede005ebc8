#include "storage/blobs/blob_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace ota::blobs {
namespace {

std::string random_string(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = rng();
    for (size_t k = 0; k < 4 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(open()); }

  void open() {
    auto store = BlobStore::open({.dir = dir()});
    ASSERT_TRUE(store) << store.error().message();
    store_ = std::move(*store);
  }

  std::filesystem::path dir() const { return dir_ / "blobs"; }

  // Every stored digest with its size, as for_each reports them.
  std::map<Sha256, uint64_t> listing() {
    std::map<Sha256, uint64_t> out;
    Status s = store_->for_each([&](const Sha256& d, uint64_t size) {
      EXPECT_TRUE(out.emplace(d, size).second) << "listed twice: " << d.hex();
      return true;
    });
    EXPECT_TRUE(s) << s.error().message();
    return out;
  }

  // The stored bytes, or "<absent>"/"<error>" so a mismatch reads clearly in the assertion.
  std::string content(const Sha256& d) {
    auto blob = store_->get(d);
    EXPECT_TRUE(blob) << blob.error().message();
    if (!blob) return "<error>";
    if (!*blob) return "<absent>";
    return std::string((*blob)->bytes());
  }

  testing::TempDir dir_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, PutReturnsTheSha256OfTheBytes) {
  auto d = store_->put("hello");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, crypto::sha256("hello"));
}

TEST_F(BlobStoreTest, GetReturnsTheStoredBytes) {
  const std::string bytes("binary\0data\xff", 12);
  auto d = store_->put(bytes);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(content(*d), bytes);
}

TEST_F(BlobStoreTest, MissingBlobIsAbsentNotAnError) {
  const Sha256 missing = crypto::sha256("never stored");
  EXPECT_EQ(content(missing), "<absent>");
  auto has = store_->has(missing);
  ASSERT_TRUE(has) << has.error().message();
  EXPECT_FALSE(*has);
  auto size = store_->size(missing);
  ASSERT_TRUE(size) << size.error().message();
  EXPECT_EQ(*size, std::nullopt);
}

TEST_F(BlobStoreTest, HasAndSizeReflectStoredBlobs) {
  auto d = store_->put("twelve bytes");
  ASSERT_TRUE(d) << d.error().message();
  auto has = store_->has(*d);
  ASSERT_TRUE(has) << has.error().message();
  EXPECT_TRUE(*has);
  auto size = store_->size(*d);
  ASSERT_TRUE(size) << size.error().message();
  EXPECT_EQ(*size, 12u);
}

TEST_F(BlobStoreTest, EmptyBlobIsStorable) {
  auto d = store_->put("");
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(*d, crypto::sha256(""));
  auto size = store_->size(*d);
  ASSERT_TRUE(size) << size.error().message();
  EXPECT_EQ(*size, 0u);
  EXPECT_EQ(content(*d), "");
}

TEST_F(BlobStoreTest, PutIsIdempotentAndStoresOnce) {
  const std::string bytes = random_string(10000, 1);
  auto first = store_->put(bytes);
  ASSERT_TRUE(first) << first.error().message();
  const uint64_t bytes_after_first = store_->approximate_bytes();
  EXPECT_GE(bytes_after_first, bytes.size());

  auto second = store_->put(bytes);
  ASSERT_TRUE(second) << second.error().message();
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(store_->approximate_bytes(), bytes_after_first);
  EXPECT_EQ(listing().size(), 1u);
}

TEST_F(BlobStoreTest, PutVerifiedStoresMatchingContent) {
  auto d = store_->put_verified("content", crypto::sha256("content"));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(content(*d), "content");
}

TEST_F(BlobStoreTest, PutVerifiedWithWrongDigestIsRejectedAndStoresNothing) {
  const Sha256 declared = crypto::sha256("what the client claimed");
  auto d = store_->put_verified("what actually arrived", declared);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message().find(declared.base64url()), std::string::npos) << d.error().message();
  EXPECT_TRUE(listing().empty());
  EXPECT_EQ(content(declared), "<absent>");
  EXPECT_EQ(content(crypto::sha256("what actually arrived")), "<absent>");
}

TEST_F(BlobStoreTest, PutManyStoresEachDistinctBlobOnceAndKeepsInputOrder) {
  const std::vector<std::string_view> batch = {"alpha", "beta", "alpha", "", "beta"};
  auto ds = store_->put_many(batch);
  ASSERT_TRUE(ds) << ds.error().message();
  ASSERT_EQ(ds->size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ((*ds)[i], crypto::sha256(batch[i])) << i;
    EXPECT_EQ(content((*ds)[i]), batch[i]) << i;
  }
  auto listed = listing();
  EXPECT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[crypto::sha256("alpha")], 5u);
  EXPECT_EQ(listed[crypto::sha256("")], 0u);
}

TEST_F(BlobStoreTest, PutManyIncludingAlreadyStoredBlobs) {
  ASSERT_TRUE(store_->put("old"));
  const std::vector<std::string_view> batch = {"old", "new"};
  auto ds = store_->put_many(batch);
  ASSERT_TRUE(ds) << ds.error().message();
  EXPECT_EQ(listing().size(), 2u);
  EXPECT_EQ(content((*ds)[1]), "new");
}

TEST_F(BlobStoreTest, PutManyOfNothingIsEmpty) {
  auto ds = store_->put_many({});
  ASSERT_TRUE(ds) << ds.error().message();
  EXPECT_TRUE(ds->empty());
  EXPECT_TRUE(listing().empty());
}

TEST_F(BlobStoreTest, FourMebibyteValueRoundTrips) {
  const std::string big = random_string(4u << 20, 4);
  auto d = store_->put(big);
  ASSERT_TRUE(d) << d.error().message();
  auto size = store_->size(*d);
  ASSERT_TRUE(size) << size.error().message();
  EXPECT_EQ(*size, big.size());
  auto blob = store_->get(*d);
  ASSERT_TRUE(blob && *blob);
  EXPECT_EQ((*blob)->size(), big.size());
  EXPECT_TRUE((*blob)->bytes() == big);  // not EXPECT_EQ: a mismatch would print 8 MiB
}

TEST_F(BlobStoreTest, ForEachListsExactlyTheStoredDigestsWithSizesInKeyOrder) {
  std::map<Sha256, uint64_t> expected;
  for (uint32_t i = 0; i < 20; ++i) {
    std::string bytes = random_string(i * 37, i + 100);
    auto d = store_->put(bytes);
    ASSERT_TRUE(d) << d.error().message();
    expected[*d] = bytes.size();
  }
  std::vector<Sha256> order;
  std::map<Sha256, uint64_t> listed;
  Status s = store_->for_each([&](const Sha256& d, uint64_t size) {
    order.push_back(d);
    listed[d] = size;
    return true;
  });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(listed, expected);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST_F(BlobStoreTest, ForEachStopsWhenTheCallbackReturnsFalse) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->put("blob " + std::to_string(i)));
  int calls = 0;
  Status s = store_->for_each([&](const Sha256&, uint64_t) { return ++calls < 2; });
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(calls, 2);
}

TEST_F(BlobStoreTest, RemoveDeletesOnlyThatBlob) {
  auto gone = store_->put("garbage");
  auto kept = store_->put("referenced");
  ASSERT_TRUE(gone && kept);
  Status s = store_->remove(*gone);
  ASSERT_TRUE(s) << s.error().message();
  auto has = store_->has(*gone);
  ASSERT_TRUE(has) << has.error().message();
  EXPECT_FALSE(*has);
  EXPECT_EQ(content(*gone), "<absent>");
  EXPECT_EQ(content(*kept), "referenced");
  auto listed = listing();
  EXPECT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed.contains(*kept));
}

TEST_F(BlobStoreTest, RemoveOfAnAbsentBlobSucceeds) {
  Status s = store_->remove(crypto::sha256("never stored"));
  EXPECT_TRUE(s) << s.error().message();
}

TEST_F(BlobStoreTest, RemovedBlobCanBeStoredAgain) {
  auto d = store_->put("phoenix");
  ASSERT_TRUE(d) << d.error().message();
  ASSERT_TRUE(store_->remove(*d));
  ASSERT_TRUE(store_->put("phoenix"));
  EXPECT_EQ(content(*d), "phoenix");
}

TEST_F(BlobStoreTest, DataSurvivesCloseAndReopen) {
  const std::string big = random_string(1u << 20, 9);
  auto small = store_->put("small");
  auto large = store_->put(big);
  auto removed = store_->put("removed");
  ASSERT_TRUE(small && large && removed);
  ASSERT_TRUE(store_->remove(*removed));

  store_.reset();
  ASSERT_NO_FATAL_FAILURE(open());

  EXPECT_EQ(content(*small), "small");
  EXPECT_TRUE(content(*large) == big);
  EXPECT_EQ(content(*removed), "<absent>");
  EXPECT_EQ(listing().size(), 2u);
}

TEST_F(BlobStoreTest, PinnedBlobStaysValidAfterMoveAndLaterWrites) {
  auto d = store_->put("pinned");
  ASSERT_TRUE(d) << d.error().message();
  auto blob = store_->get(*d);
  ASSERT_TRUE(blob && *blob);
  PinnedBlob moved = std::move(**blob);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(store_->put("filler " + std::to_string(i)));
  EXPECT_EQ(moved.bytes(), "pinned");
}

TEST_F(BlobStoreTest, SecondOpenOfTheSameDirectoryFailsWhileTheFirstIsOpen) {
  auto second = BlobStore::open({.dir = dir()});
  ASSERT_FALSE(second) << "a second BlobStore opened " << dir();
  const std::string& m = second.error().message();
  EXPECT_EQ(second.error().code(), ErrorCode::kConflict) << m;
  EXPECT_NE(m.find(dir().string()), std::string::npos) << m;
  EXPECT_NE(m.find("another otaserver process"), std::string::npos) << m;

  store_.reset();
  auto third = BlobStore::open({.dir = dir()});
  EXPECT_TRUE(third) << third.error().message();
}

TEST_F(BlobStoreTest, ConcurrentPutsFromManyThreadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every thread also writes one shared blob, to race the idempotence check.
        if (!store_->put("t" + std::to_string(t) + "-" + std::to_string(i))) ++failures;
        if (!store_->put("shared")) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(listing().size(), static_cast<size_t>(kThreads * kPerThread + 1));
}

TEST(BlobStore, OpenOnARegularFileFails) {
  testing::TempDir dir;
  { std::ofstream(dir / "blobs") << "not a directory"; }
  auto store = BlobStore::open({.dir = dir / "blobs"});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message().find((dir / "blobs").string()), std::string::npos) << store.error().message();
}

}  // namespace
}  // namespace ota::blobs
