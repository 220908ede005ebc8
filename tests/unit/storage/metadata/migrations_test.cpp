#include "storage/metadata/migrations.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/temp_dir.h"

namespace ota::metadata {
namespace {

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::open({.path = dir_ / "metadata.db"});
    ASSERT_TRUE(db) << db.error().message();
    db_ = std::move(*db);
  }

  int version() {
    auto v = current_schema_version(*db_);
    EXPECT_TRUE(v) << v.error().message();
    return v ? *v : -1;
  }

  bool table_exists(const std::string& name) {
    auto tx = db_->begin_read();
    EXPECT_TRUE(tx) << tx.error().message();
    if (!tx) return false;
    auto q = tx->query("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", name);
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return false;
    auto row = q->next();
    EXPECT_TRUE(row && *row);
    return q->int64(0) == 1;
  }

  int64_t recorded_migrations() {
    auto tx = db_->begin_read();
    EXPECT_TRUE(tx) << tx.error().message();
    if (!tx) return -1;
    auto q = tx->query("SELECT count(*) FROM schema_migrations");
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return -1;
    auto row = q->next();
    EXPECT_TRUE(row && *row);
    return q->int64(0);
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST(ParseMigrations, OrdersByVersionAndSplitsTheName) {
  const EmbeddedFile files[] = {{"002_add_apps.sql", "CREATE TABLE apps (id INTEGER);"},
                                {"001_initial.sql", "CREATE TABLE a (id INTEGER);"}};
  auto m = parse_migrations(files);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].version, 1);
  EXPECT_EQ((*m)[0].name, "initial");
  EXPECT_EQ((*m)[0].sql, "CREATE TABLE a (id INTEGER);");
  EXPECT_EQ((*m)[1].version, 2);
  EXPECT_EQ((*m)[1].name, "add_apps");
}

TEST(ParseMigrations, AcceptsNoFiles) {
  auto m = parse_migrations({});
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_TRUE(m->empty());
}

TEST(ParseMigrations, RejectsGaps) {
  const EmbeddedFile files[] = {{"001_a.sql", ""}, {"003_b.sql", ""}};
  auto m = parse_migrations(files);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("without gaps"), std::string::npos) << m.error().message();
}

TEST(ParseMigrations, RejectsMissingFirstVersion) {
  const EmbeddedFile files[] = {{"002_a.sql", ""}};
  EXPECT_FALSE(parse_migrations(files));
}

TEST(ParseMigrations, RejectsDuplicateVersions) {
  const EmbeddedFile files[] = {{"001_a.sql", ""}, {"001_b.sql", ""}};
  EXPECT_FALSE(parse_migrations(files));
}

TEST(ParseMigrations, RejectsBadNames) {
  for (const char* name : {"initial.sql", "001_a.txt", "001-a.sql", "000_a.sql", "abc_a.sql", "_a.sql", "x1_a.sql",
                           "-1_a.sql", "001_a.sql.bak"}) {
    const EmbeddedFile files[] = {{name, ""}};
    auto m = parse_migrations(files);
    ASSERT_FALSE(m) << name << " was accepted";
    EXPECT_NE(m.error().message().find(name), std::string::npos) << m.error().message();
  }
}

TEST(ParseMigrations, EmbeddedFilesAreValid) {
  auto m = parse_migrations(embedded_schema_files());
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_GE(latest_schema_version(), 1);
  EXPECT_EQ(static_cast<int>(m->size()), latest_schema_version());
}

TEST_F(MigrationsTest, FreshDatabaseIsAtVersionZero) { EXPECT_EQ(version(), 0); }

TEST_F(MigrationsTest, MigrateBringsAFreshDatabaseToTheLatestVersion) {
  auto report = migrate(*db_);
  ASSERT_TRUE(report) << report.error().message();
  EXPECT_EQ(report->from_version, 0);
  EXPECT_EQ(report->to_version, latest_schema_version());
  EXPECT_EQ(version(), latest_schema_version());
  EXPECT_EQ(recorded_migrations(), latest_schema_version());
}

TEST_F(MigrationsTest, SecondMigrateIsANoOp) {
  ASSERT_TRUE(migrate(*db_));
  auto again = migrate(*db_);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->from_version, latest_schema_version());
  EXPECT_EQ(again->to_version, latest_schema_version());
  EXPECT_EQ(recorded_migrations(), latest_schema_version());
}

TEST_F(MigrationsTest, MigrationStateSurvivesReopen) {
  ASSERT_TRUE(migrate(*db_));
  db_.reset();
  auto db = Database::open({.path = dir_ / "metadata.db"});
  ASSERT_TRUE(db) << db.error().message();
  db_ = std::move(*db);
  EXPECT_EQ(version(), latest_schema_version());
  auto again = migrate(*db_);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(again->from_version, latest_schema_version());
}

TEST_F(MigrationsTest, RefusesASchemaNewerThanThisBinary) {
  ASSERT_TRUE(migrate(*db_));
  const int newer = latest_schema_version() + 1;
  {
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx) << tx.error().message();
    ASSERT_TRUE(tx->execute("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, 'future', 0)",
                            newer));
    ASSERT_TRUE(tx->commit());
  }
  auto report = migrate(*db_);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code(), ErrorCode::kConflict);
  EXPECT_NE(report.error().message().find("newer"), std::string::npos) << report.error().message();
  EXPECT_EQ(version(), newer);
}

TEST_F(MigrationsTest, AppliesOnlyMigrationsNewerThanTheFile) {
  const Migration first[] = {{1, "one", "CREATE TABLE one (x INTEGER);"}};
  auto r1 = migrate(*db_, first);
  ASSERT_TRUE(r1) << r1.error().message();
  EXPECT_EQ(r1->to_version, 1);

  // Re-running migration 1 would fail (the table exists), so success shows it was skipped.
  const Migration both[] = {{1, "one", "CREATE TABLE one (x INTEGER);"}, {2, "two", "CREATE TABLE two (x INTEGER);"}};
  auto r2 = migrate(*db_, both);
  ASSERT_TRUE(r2) << r2.error().message();
  EXPECT_EQ(r2->from_version, 1);
  EXPECT_EQ(r2->to_version, 2);
  EXPECT_TRUE(table_exists("two"));
}

TEST_F(MigrationsTest, FailingMigrationLeavesTheVersionAndEarlierMigrationsIntact) {
  // Migration 2 creates a table before failing: that table must not survive either.
  const Migration broken[] = {{1, "one", "CREATE TABLE one (x INTEGER);"},
                              {2, "two", "CREATE TABLE two (x INTEGER); INSERT INTO no_such_table VALUES (1);"},
                              {3, "three", "CREATE TABLE three (x INTEGER);"}};
  auto report = migrate(*db_, broken);
  ASSERT_FALSE(report);
  EXPECT_NE(report.error().message().find("schema migration 2 (two)"), std::string::npos)
      << report.error().message();
  EXPECT_EQ(version(), 1);
  EXPECT_TRUE(table_exists("one"));
  EXPECT_FALSE(table_exists("two"));
  EXPECT_FALSE(table_exists("three"));

  const Migration fixed[] = {{1, "one", "CREATE TABLE one (x INTEGER);"},
                             {2, "two", "CREATE TABLE two (x INTEGER);"},
                             {3, "three", "CREATE TABLE three (x INTEGER);"}};
  auto retry = migrate(*db_, fixed);
  ASSERT_TRUE(retry) << retry.error().message();
  EXPECT_EQ(retry->from_version, 1);
  EXPECT_EQ(version(), 3);
  EXPECT_TRUE(table_exists("two"));
  EXPECT_TRUE(table_exists("three"));
}

TEST_F(MigrationsTest, BadSqlInTheFirstMigrationLeavesVersionZero) {
  const Migration broken[] = {{1, "one", "CREATE TABLE one ("}};
  auto report = migrate(*db_, broken);
  ASSERT_FALSE(report);
  EXPECT_EQ(version(), 0);
  EXPECT_FALSE(table_exists("one"));
}

}  // namespace
}  // namespace ota::metadata
