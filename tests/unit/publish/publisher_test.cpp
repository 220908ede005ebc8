#include <gtest/gtest.h>

#include "common/clock.h"
#include "crypto/digest.h"
#include "publish/publisher.h"
#include "storage/metadata/migrations.h"
#include "support/temp_dir.h"

namespace ota::publish {
namespace {

class PublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = metadata::Database::open({.path = dir_ / "metadata.db"});
    ASSERT_TRUE(db);
    ASSERT_TRUE(metadata::migrate(**db));
    auto blobs = blobs::BlobStore::open({.dir = dir_ / "blobs"});
    ASSERT_TRUE(blobs);
    storage_ = std::make_unique<storage::Storage>(std::move(*db), std::move(*blobs));
    auto tx = storage_->db().begin_write();
    ASSERT_TRUE(tx->execute("INSERT INTO apps (name, created_at_ms) VALUES ('app', 0)"));
    ASSERT_TRUE(tx->execute("INSERT INTO branches (app_id, name, created_at_ms) VALUES (1, 'production', 0)"));
    ASSERT_TRUE(tx->execute("INSERT INTO channels (app_id, name, branch_id, created_at_ms) VALUES (1, 'production', 1, 0)"));
    ASSERT_TRUE(tx->commit());
    bundle_ = *storage_->blobs().put("console.log('bundle')");
  }

  CommitRequest request(std::optional<std::string> key = std::nullopt) {
    CommitRequest r;
    r.app = "app";
    r.idempotency_key = std::move(key);
    r.platforms.push_back({model::Platform::kIos, "1.0.0", {bundle_, "js"}, {}});
    return r;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::Storage> storage_;
  crypto::Sha256 bundle_;
  ManualClock clock_{1'800'000'000'000};
  auth::Actor actor_{"test", "local"};
};

TEST_F(PublisherTest, CreatedAtStaysStrictlyIncreasingWhenTheClockStepsBack) {
  Publisher publisher(*storage_, clock_);
  auto first = publisher.commit(request(), actor_);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->created_at_ms, 1'800'000'000'000);
  clock_.advance(-3600 * 1000);  // the wall clock steps back an hour
  auto second = publisher.commit(request(), actor_);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->created_at_ms, first->created_at_ms + 1);
  auto marker = publisher.roll_back_to_embedded({"app", std::nullopt, std::nullopt, "1.0.0", {model::Platform::kIos}, ""},
                                                actor_);
  ASSERT_TRUE(marker);
  EXPECT_GT(marker->created_at_ms, second->created_at_ms);
  clock_.advance(2 * 3600 * 1000);
  auto third = publisher.commit(request(), actor_);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->created_at_ms, clock_.now_ms());  // back to server time once it is ahead again
}

TEST_F(PublisherTest, RetryWithTheSameKeyReturnsTheFirstGroup) {
  Publisher publisher(*storage_, clock_);
  auto first = publisher.commit(request("k1"), actor_);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->created);
  auto again = publisher.commit(request("k1"), actor_);
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->group_id, first->group_id);
  ASSERT_EQ(again->updates.size(), 1u);
  EXPECT_EQ(again->updates[0].id, first->updates[0].id);
  auto tx = storage_->db().begin_read();
  auto q = tx->query("SELECT count(*) FROM update_groups");
  ASSERT_TRUE(q && *q->next());
  EXPECT_EQ(q->int64(0), 1);
}

// Found by the release e2e suite: a CI job reusing a key after a code change must not be told
// "published" while nothing new was.
TEST_F(PublisherTest, ReusingAKeyForDifferentContentIsAConflict) {
  Publisher publisher(*storage_, clock_);
  ASSERT_TRUE(publisher.commit(request("k1"), actor_));
  CommitRequest different = request("k1");
  different.platforms[0].runtime_version = "2.0.0";
  auto result = publisher.commit(different, actor_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kConflict);
  EXPECT_NE(result.error().message().find("use a new key"), std::string::npos) << result.error().message();
}

TEST_F(PublisherTest, AMissingBlobPublishesNothing) {
  Publisher publisher(*storage_, clock_);
  CommitRequest r = request();
  r.platforms[0].assets.push_back({crypto::sha256("never uploaded"), "png"});
  auto result = publisher.commit(r, actor_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message().find("has not been uploaded"), std::string::npos);
  auto tx = storage_->db().begin_read();
  auto q = tx->query("SELECT (SELECT count(*) FROM updates) + (SELECT count(*) FROM update_groups)");
  ASSERT_TRUE(q && *q->next());
  EXPECT_EQ(q->int64(0), 0);
}

TEST_F(PublisherTest, UnknownChannelIsRefusedAndNothingIsVisible) {
  Publisher publisher(*storage_, clock_);
  CommitRequest r = request();
  r.channel = "nope";
  auto result = publisher.commit(r, actor_);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kNotFound);
  auto tx = storage_->db().begin_read();
  auto q = tx->query("SELECT count(*) FROM update_groups");
  ASSERT_TRUE(q && *q->next());
  EXPECT_EQ(q->int64(0), 0);
}

}  // namespace
}  // namespace ota::publish
