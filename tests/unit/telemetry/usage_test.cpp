// Adoption counting: the device sketch's accuracy and merging, and UsageRecorder against a real
// SQLite file with the real migrations.
#include "telemetry/usage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "storage/metadata/migrations.h"
#include "support/temp_dir.h"
#include "telemetry/hll.h"

namespace ota::telemetry {
namespace {

std::string device(int i) { return "device-" + std::to_string(i); }

TEST(DeviceSketch, SmallCountsAreExactAndLargeOnesWithinFivePercent) {
  for (int n : {1, 7, 100, 1000, 20000, 200000}) {
    DeviceSketch s;
    for (int i = 0; i < n; ++i) s.add(device(i));
    for (int i = 0; i < n; ++i) s.add(device(i));  // repeats change nothing
    double estimate = s.estimate();
    if (n <= 100) {
      EXPECT_EQ(std::llround(estimate), n) << n;
    } else {
      EXPECT_NEAR(estimate, n, n * 0.05) << n;
    }
  }
  EXPECT_EQ(DeviceSketch().estimate(), 0);
}

TEST(DeviceSketch, MergingEqualsCountingTheUnion) {
  DeviceSketch a, b, both;
  for (int i = 0; i < 3000; ++i) {
    (i % 2 == 0 ? a : b).add(device(i));
    both.add(device(i));
  }
  for (int i = 0; i < 1000; ++i) a.add(device(i));  // overlap
  DeviceSketch merged = a;
  merged.merge(b);
  EXPECT_EQ(merged.serialize(), both.serialize());

  DeviceSketch from_bytes;
  ASSERT_TRUE(from_bytes.merge_serialized(a.serialize()));
  ASSERT_TRUE(from_bytes.merge_serialized(b.serialize()));
  EXPECT_EQ(from_bytes.serialize(), both.serialize());
}

TEST(DeviceSketch, RejectsBytesThatAreNotASketch) {
  DeviceSketch s;
  EXPECT_FALSE(s.merge_serialized("short"));
  EXPECT_FALSE(s.merge_serialized(std::string(DeviceSketch::kRegisters, '\x7f')));  // impossible rank
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(estimate_serialized("junk"), 0);
}

TEST(UtcDay, CountsWholeDaysAndPrintsDates) {
  EXPECT_EQ(utc_day(0), 0);
  EXPECT_EQ(utc_day(86'400'000 - 1), 0);
  EXPECT_EQ(utc_day(86'400'000), 1);
  EXPECT_EQ(utc_day(-1), -1);
  EXPECT_EQ(day_text(0), "1970-01-01");
  EXPECT_EQ(day_text(utc_day(1795392000000)), "2026-11-23");
}

class UsageRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = metadata::Database::open({.path = dir_ / "metadata.db"});
    ASSERT_TRUE(db) << db.error().message();
    db_ = std::move(*db);
    ASSERT_TRUE(metadata::migrate(*db_));
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(tx->execute("INSERT INTO apps (id, name, created_at_ms) VALUES (1, 'app', 0)"));
    ASSERT_TRUE(tx->execute("INSERT INTO branches (id, app_id, name, created_at_ms) VALUES (1, 1, 'main', 0)"));
    ASSERT_TRUE(tx->execute("INSERT INTO update_groups (id, app_id, branch_id, created_at_ms) VALUES ('g', 1, 1, 0)"));
    ASSERT_TRUE(
        tx->execute("INSERT INTO updates (id, group_id, app_id, branch_id, platform, runtime_version, "
                    "created_at_ms) VALUES ('u1', 'g', 1, 1, 'ios', '1', 0), ('u2', 'g', 1, 1, 'ios', '1', 0)"));
    ASSERT_TRUE(tx->commit());
  }

  struct Row {
    int64_t served = -1, downloads = -1, failures = -1;
    double devices = -1, failed_devices = -1;
  };
  Row row(const std::string& id, int64_t day) {
    Row r;
    auto tx = db_->begin_read();
    EXPECT_TRUE(tx);
    auto q = tx->query(
        "SELECT served, downloads, failure_reports, devices, failed_devices FROM usage_daily "
        "WHERE subject = 'update' AND subject_id = ? AND day = ?",
        id, day);
    EXPECT_TRUE(q);
    if (!q || !q->next().value_or(false)) return r;
    r.served = q->int64(0);
    r.downloads = q->int64(1);
    r.failures = q->int64(2);
    r.devices = q->is_null(3) ? 0 : estimate_serialized(q->blob(3));
    r.failed_devices = q->is_null(4) ? 0 : estimate_serialized(q->blob(4));
    return r;
  }
  int64_t count(const std::string& sql) {
    auto tx = db_->begin_read();
    auto q = tx->query(sql);
    return q && q->next().value_or(false) ? q->int64(0) : -1;
  }

  testing::TempDir dir_;
  std::unique_ptr<metadata::Database> db_;
  ManualClock clock_{1795392000000};  // 2026-11-23T00:00:00Z
};

TEST_F(UsageRecorderTest, FlushAddsCountsAndMergesDeviceSketchesAcrossBatches) {
  UsageRecorder usage(clock_);
  int64_t today = utc_day(clock_.now_ms());
  for (int i = 0; i < 10; ++i) usage.served(Subject::kUpdate, "u1", device(i));
  usage.served(Subject::kUpdate, "u1", std::nullopt);
  usage.downloaded(Subject::kUpdate, "u1", device(0));
  usage.failure_reported("u2", device(3));
  usage.failure_reported("u2", device(3));
  usage.running("u2", device(50));
  ASSERT_TRUE(usage.flush(*db_));
  Row r1 = row("u1", today);
  EXPECT_EQ(r1.served, 11);
  EXPECT_EQ(r1.downloads, 1);
  EXPECT_EQ(std::llround(r1.devices), 10);
  Row r2 = row("u2", today);
  EXPECT_EQ(r2.failures, 2);
  EXPECT_EQ(std::llround(r2.failed_devices), 1);
  EXPECT_EQ(std::llround(r2.devices), 1);
  EXPECT_EQ(usage.failure_reports_total(), 2u);

  // The next batch: five known devices and five new ones.
  for (int i = 5; i < 15; ++i) usage.served(Subject::kUpdate, "u1", device(i));
  ASSERT_TRUE(usage.flush(*db_));
  r1 = row("u1", today);
  EXPECT_EQ(r1.served, 21);
  EXPECT_EQ(std::llround(r1.devices), 15);

  // A new UTC day is a new row.
  clock_.advance(86'400'000);
  usage.served(Subject::kUpdate, "u1", device(1));
  ASSERT_TRUE(usage.flush(*db_));
  EXPECT_EQ(row("u1", today + 1).served, 1);
  EXPECT_EQ(row("u1", today).served, 21);
}

TEST_F(UsageRecorderTest, IdsOfNothingAreNeverStored) {
  UsageRecorder usage(clock_);
  usage.served(Subject::kUpdate, "not-an-update", device(1));
  usage.served(Subject::kPatch, "u1", device(1));  // an update id is not a patch id
  usage.failure_reported(std::string(500, 'x'), device(1));
  ASSERT_TRUE(usage.flush(*db_));
  EXPECT_EQ(count("SELECT count(*) FROM usage_daily"), 0);
}

TEST_F(UsageRecorderTest, MemoryIsBoundedAndOverflowIsCounted) {
  UsageRecorder usage(clock_, 16);  // 2 keys per shard
  for (int i = 0; i < 1000; ++i) usage.served(Subject::kUpdate, "id-" + std::to_string(i), std::nullopt);
  EXPECT_GE(usage.dropped(), 1000u - 16u);
  ASSERT_TRUE(usage.flush(*db_));
  // After a flush there is room again.
  uint64_t dropped = usage.dropped();
  usage.served(Subject::kUpdate, "u1", std::nullopt);
  EXPECT_EQ(usage.dropped(), dropped);
}

TEST_F(UsageRecorderTest, CheckinsAreUpsertedAndCappedPerApp) {
  UsageRecorder usage(clock_, 100000);
  usage.checked_in(1, "ios", "1.0.0", "production");
  usage.checked_in(1, "ios", "1.0.0", "production");
  usage.checked_in(99, "ios", "1.0.0", "production");  // no such app
  ASSERT_TRUE(usage.flush(*db_));
  EXPECT_EQ(count("SELECT checks FROM runtime_checkins WHERE app_id = 1"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM runtime_checkins"), 1);

  for (int i = 0; i < 500; ++i) {
    clock_.advance(1);
    usage.checked_in(1, "android", "junk-" + std::to_string(i), "production");
  }
  ASSERT_TRUE(usage.flush(*db_));
  EXPECT_EQ(count("SELECT count(*) FROM runtime_checkins WHERE app_id = 1"), 200);
  // The newest are kept.
  EXPECT_EQ(count("SELECT count(*) FROM runtime_checkins WHERE runtime_version = 'junk-499'"), 1);
}

TEST_F(UsageRecorderTest, ConcurrentRecordingLosesNothing) {
  UsageRecorder usage(clock_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&usage, t] {
      for (int i = 0; i < 5000; ++i) usage.served(Subject::kUpdate, i % 2 ? "u1" : "u2", device(t * 5000 + i));
    });
  }
  std::thread flusher([&] {
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(usage.flush(*db_));
  });
  for (auto& th : threads) th.join();
  flusher.join();
  ASSERT_TRUE(usage.flush(*db_));
  int64_t today = utc_day(clock_.now_ms());
  EXPECT_EQ(row("u1", today).served + row("u2", today).served, 20000);
  EXPECT_NEAR(row("u1", today).devices, 10000, 500);
}

}  // namespace
}  // namespace ota::telemetry
