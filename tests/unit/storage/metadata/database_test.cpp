#include "storage/metadata/database.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace ota::metadata {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(open());
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx) << tx.error().message();
    Status created = tx->conn().exec(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, payload BLOB, note TEXT);"
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
        "CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents(id));");
    ASSERT_TRUE(created) << created.error().message();
    Status committed = tx->commit();
    ASSERT_TRUE(committed) << committed.error().message();
  }

  void open(DatabaseOptions options = {}) {
    options.path = path();
    auto db = Database::open(options);
    ASSERT_TRUE(db) << db.error().message();
    db_ = std::move(*db);
  }

  std::filesystem::path path() const { return dir_ / "metadata.db"; }

  // Row count of `items` as a fresh reader sees it; -1 on error (reported as a test failure).
  int64_t count_items() {
    auto tx = db_->begin_read();
    EXPECT_TRUE(tx) << tx.error().message();
    if (!tx) return -1;
    auto q = tx->query("SELECT count(*) FROM items");
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return -1;
    auto row = q->next();
    EXPECT_TRUE(row && *row);
    return q->int64(0);
  }

  Status insert_item(std::string_view name) {
    OTA_ASSIGN_OR_RETURN(auto tx, db_->begin_write());
    OTA_TRY(tx.execute("INSERT INTO items (name) VALUES (?)", name));
    return tx.commit();
  }

  testing::TempDir dir_;  // declared first so it outlives the database
  std::unique_ptr<Database> db_;
};

// Regression: two live queries with identical SQL on one connection used to share one cached
// statement, so the inner query reset the outer one's cursor.
TEST_F(DatabaseTest, NestedIdenticalQueriesIterateIndependently) {
  ASSERT_TRUE(insert_item("a"));
  ASSERT_TRUE(insert_item("b"));
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx);
  auto outer = tx->query("SELECT name FROM items ORDER BY name");
  ASSERT_TRUE(outer);
  std::vector<std::string> seen;
  while (true) {
    auto row = outer->next();
    ASSERT_TRUE(row) << row.error().message();
    if (!*row) break;
    seen.push_back(outer->text(0));
    auto inner = tx->query("SELECT name FROM items ORDER BY name");
    ASSERT_TRUE(inner) << inner.error().message();
    int n = 0;
    while (true) {
      auto r = inner->next();
      ASSERT_TRUE(r);
      if (!*r) break;
      ++n;
    }
    EXPECT_EQ(n, 2);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"}));
}

TEST_F(DatabaseTest, UsesWriteAheadLogging) {
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("PRAGMA journal_mode");
  ASSERT_TRUE(q) << q.error().message();
  auto row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->text(0), "wal");
}

TEST_F(DatabaseTest, WriteGoesToTheWalFile) {
  ASSERT_TRUE(insert_item("a"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "metadata.db-wal"));
}

TEST_F(DatabaseTest, EnforcesForeignKeys) {
  auto tx = db_->begin_write();
  ASSERT_TRUE(tx) << tx.error().message();
  auto orphan = tx->execute("INSERT INTO children (parent) VALUES (42)");
  ASSERT_FALSE(orphan) << "an orphan row was accepted";
  EXPECT_EQ(orphan.error().code(), ErrorCode::kConflict) << orphan.error().message();
}

TEST_F(DatabaseTest, CommittedWriteIsVisibleToReaders) {
  EXPECT_EQ(count_items(), 0);
  ASSERT_TRUE(insert_item("a"));
  ASSERT_TRUE(insert_item("b"));
  EXPECT_EQ(count_items(), 2);
}

TEST_F(DatabaseTest, UncommittedWriteIsInvisibleAndRolledBackOnDestruction) {
  {
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx) << tx.error().message();
    auto n = tx->execute("INSERT INTO items (name) VALUES ('pending')");
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(*n, 1);
    EXPECT_EQ(count_items(), 0);  // readers do not see it meanwhile
  }
  EXPECT_EQ(count_items(), 0);
  // The writer lock was released and the name is free again.
  Status again = insert_item("pending");
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(count_items(), 1);
}

TEST_F(DatabaseTest, ReadTransactionKeepsItsSnapshot) {
  ASSERT_TRUE(insert_item("a"));
  auto reader = db_->begin_read();
  ASSERT_TRUE(reader) << reader.error().message();
  auto read_count = [&]() -> int64_t {
    auto q = reader->query("SELECT count(*) FROM items");
    EXPECT_TRUE(q) << q.error().message();
    if (!q) return -1;
    auto row = q->next();
    EXPECT_TRUE(row && *row);
    return q->int64(0);
  };
  EXPECT_EQ(read_count(), 1);
  ASSERT_TRUE(insert_item("b"));  // the writer is not blocked by the open reader
  EXPECT_EQ(read_count(), 1);
  EXPECT_EQ(count_items(), 2);
}

TEST_F(DatabaseTest, BindsEveryParameterType) {
  const std::string binary("\x00\x01\xff\x00", 4);
  const int64_t big = std::numeric_limits<int64_t>::max();
  const int64_t small = std::numeric_limits<int64_t>::min();
  {
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx) << tx.error().message();
    ASSERT_TRUE(tx->execute("INSERT INTO items (id, name, payload, note) VALUES (?, ?, ?, ?)", big,
                            std::string("h\xc3\xa9llo"), Blob{binary}, Null{}));
    ASSERT_TRUE(tx->execute("INSERT INTO items (id, name, payload, note) VALUES (?, ?, ?, ?)", small, "literal",
                            Null{}, std::optional<std::string>("note")));
    ASSERT_TRUE(tx->execute("INSERT INTO items (id, name, payload, note) VALUES (?, ?, ?, ?)", 7,
                            std::string_view("view"), std::optional<int64_t>(), std::optional<std::string>()));
    Status c = tx->commit();
    ASSERT_TRUE(c) << c.error().message();
  }
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("SELECT id, name, payload, note, typeof(payload), typeof(name) FROM items ORDER BY id");
  ASSERT_TRUE(q) << q.error().message();

  auto row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->int64(0), small);
  EXPECT_EQ(q->text(1), "literal");
  EXPECT_TRUE(q->is_null(2));
  EXPECT_EQ(q->optional_text(3), std::optional<std::string>("note"));

  row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->int64(0), 7);
  EXPECT_EQ(q->text(1), "view");
  EXPECT_EQ(q->optional_int64(2), std::nullopt);
  EXPECT_EQ(q->optional_text(3), std::nullopt);

  row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->int64(0), big);
  EXPECT_EQ(q->text(1), "h\xc3\xa9llo");
  EXPECT_EQ(q->blob(2), binary);
  EXPECT_EQ(q->text(4), "blob");
  EXPECT_EQ(q->text(5), "text");
  EXPECT_TRUE(q->is_null(3));

  row = q->next();
  ASSERT_TRUE(row);
  EXPECT_FALSE(*row);
}

TEST_F(DatabaseTest, OptionalInt64BindsAValue) {
  auto tx = db_->begin_write();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("SELECT ?, ?", std::optional<int64_t>(5), std::optional<int64_t>());
  ASSERT_TRUE(q) << q.error().message();
  auto row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->optional_int64(0), 5);
  EXPECT_EQ(q->optional_int64(1), std::nullopt);
}

TEST_F(DatabaseTest, NextIteratesEveryRowThenStops) {
  {
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx) << tx.error().message();
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(tx->execute("INSERT INTO items (id, name) VALUES (?, ?)", i, "n" + std::to_string(i)));
    }
    ASSERT_TRUE(tx->commit());
  }
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("SELECT id, name FROM items WHERE id >= ? ORDER BY id DESC", 2);
  ASSERT_TRUE(q) << q.error().message();
  std::vector<std::string> names;
  while (true) {
    auto row = q->next();
    ASSERT_TRUE(row) << row.error().message();
    if (!*row) break;
    names.push_back(q->text(1));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"n5", "n4", "n3", "n2"}));
}

TEST_F(DatabaseTest, QueryWithoutRowsStopsAtOnce) {
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("SELECT id FROM items WHERE name = ?", "nobody");
  ASSERT_TRUE(q) << q.error().message();
  auto row = q->next();
  ASSERT_TRUE(row) << row.error().message();
  EXPECT_FALSE(*row);
}

TEST_F(DatabaseTest, CachedStatementIsReboundOnEveryUse) {
  ASSERT_TRUE(insert_item("a"));
  ASSERT_TRUE(insert_item("b"));
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  for (const char* name : {"a", "b", "a"}) {
    auto q = tx->query("SELECT name FROM items WHERE name = ?", name);
    ASSERT_TRUE(q) << q.error().message();
    auto row = q->next();
    ASSERT_TRUE(row && *row) << name;
    EXPECT_EQ(q->text(0), name);
  }
}

TEST_F(DatabaseTest, ExecuteReportsChangedRowsAndRowid) {
  ASSERT_TRUE(insert_item("a"));
  ASSERT_TRUE(insert_item("b"));
  ASSERT_TRUE(insert_item("c"));
  auto tx = db_->begin_write();
  ASSERT_TRUE(tx) << tx.error().message();
  auto changed = tx->execute("UPDATE items SET note = ? WHERE name <> ?", "x", "b");
  ASSERT_TRUE(changed) << changed.error().message();
  EXPECT_EQ(*changed, 2);
  ASSERT_TRUE(tx->execute("INSERT INTO items (id, name) VALUES (100, 'd')"));
  EXPECT_EQ(tx->conn().last_insert_rowid(), 100);
}

TEST_F(DatabaseTest, ConstraintViolationIsConflict) {
  ASSERT_TRUE(insert_item("taken"));
  Status dup = insert_item("taken");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kConflict) << dup.error().message();
  EXPECT_NE(dup.error().message().find("UNIQUE"), std::string::npos) << dup.error().message();

  auto tx = db_->begin_write();
  ASSERT_TRUE(tx) << tx.error().message();
  auto null_name = tx->execute("INSERT INTO items (name) VALUES (?)", Null{});
  ASSERT_FALSE(null_name);
  EXPECT_EQ(null_name.error().code(), ErrorCode::kConflict) << null_name.error().message();
}

TEST_F(DatabaseTest, FailedStatementLeavesTheTransactionUsable) {
  ASSERT_TRUE(insert_item("taken"));
  auto tx = db_->begin_write();
  ASSERT_TRUE(tx) << tx.error().message();
  ASSERT_TRUE(tx->execute("INSERT INTO items (name) VALUES ('first')"));
  ASSERT_FALSE(tx->execute("INSERT INTO items (name) VALUES ('taken')"));
  ASSERT_TRUE(tx->execute("INSERT INTO items (name) VALUES ('second')"));
  Status c = tx->commit();
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(count_items(), 3);
}

TEST_F(DatabaseTest, MalformedSqlIsAnError) {
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("SELEKT 1");
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message().find("syntax error"), std::string::npos) << q.error().message();

  auto wtx = db_->begin_write();
  ASSERT_TRUE(wtx) << wtx.error().message();
  Status e = wtx->conn().exec("CREATE TABLE (");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message().find("syntax error"), std::string::npos) << e.error().message();
}

TEST_F(DatabaseTest, ReadTransactionCannotWrite) {
  auto tx = db_->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q = tx->query("INSERT INTO items (name) VALUES ('sneaky')");
  Result<bool> stepped = q ? q->next() : Result<bool>(std::move(q).error());
  EXPECT_FALSE(stepped);
  EXPECT_EQ(count_items(), 0);
}

TEST_F(DatabaseTest, DataSurvivesReopen) {
  ASSERT_TRUE(insert_item("durable"));
  db_.reset();
  ASSERT_NO_FATAL_FAILURE(open());
  EXPECT_EQ(count_items(), 1);
}

TEST_F(DatabaseTest, ReadOnlyDatabaseReadsButRefusesWrites) {
  ASSERT_TRUE(insert_item("a"));
  auto ro = Database::open({.path = path(), .read_only = true});
  ASSERT_TRUE(ro) << ro.error().message();
  auto w = (*ro)->begin_write();
  EXPECT_FALSE(w);
  auto r = (*ro)->begin_read();
  ASSERT_TRUE(r) << r.error().message();
  auto q = r->query("SELECT name FROM items");
  ASSERT_TRUE(q) << q.error().message();
  auto row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->text(0), "a");
}

TEST_F(DatabaseTest, ReaderPoolMakesTheNextReaderWaitForAReturn) {
  db_.reset();
  DatabaseOptions one_reader;
  one_reader.read_connections = 1;
  ASSERT_NO_FATAL_FAILURE(open(one_reader));
  std::optional<Result<ReadTransaction>> held(db_->begin_read());
  ASSERT_TRUE(*held) << (*held).error().message();

  std::atomic<bool> got_reader{false};
  std::thread waiter([&] {
    auto tx = db_->begin_read();
    got_reader = static_cast<bool>(tx);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got_reader.load());
  held.reset();
  waiter.join();
  EXPECT_TRUE(got_reader.load());
}

TEST_F(DatabaseTest, ConcurrentWritersAndReadersAllSucceed) {
  constexpr int kWriters = 4;
  constexpr int kInsertsPerWriter = 100;
  constexpr int kReaders = 4;
  std::atomic<int> writers_done{0};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::mutex first_error_mutex;
  std::string first_error;
  auto fail = [&](const Error& e) {
    ++failures;
    std::lock_guard lock(first_error_mutex);
    if (first_error.empty()) first_error = e.message();
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kInsertsPerWriter; ++i) {
        Status s = insert_item("w" + std::to_string(w) + "-" + std::to_string(i));
        if (!s) fail(s.error());
      }
      ++writers_done;
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&] {
      int64_t last = 0;
      do {
        auto tx = db_->begin_read();
        if (!tx) {
          fail(tx.error());
          continue;
        }
        auto q = tx->query("SELECT count(*) FROM items");
        if (!q) {
          fail(q.error());
          continue;
        }
        auto row = q->next();
        if (!row) {
          fail(row.error());
          continue;
        }
        int64_t n = q->int64(0);
        // Commits are atomic and ordered, so a later snapshot never has fewer rows.
        if (n < last) fail(internal_error("count went backwards"));
        last = n;
        ++reads;
      } while (writers_done.load() < kWriters);
    });
  }
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(count_items(), kWriters * kInsertsPerWriter);
}

TEST(Database, OpenInMissingDirectoryFails) {
  testing::TempDir dir;
  auto db = Database::open({.path = dir / "missing" / "metadata.db"});
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message().find("missing"), std::string::npos) << db.error().message();
}

TEST(Database, OpenOfAFileThatIsNotADatabaseIsCorruption) {
  testing::TempDir dir;
  {
    std::ofstream out(dir / "metadata.db", std::ios::binary);
    out << std::string(4096, 'x');
  }
  auto db = Database::open({.path = dir / "metadata.db"});
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), ErrorCode::kCorruption) << db.error().message();
}

}  // namespace
}  // namespace ota::metadata
