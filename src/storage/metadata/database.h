// The metadata store: one SQLite file in WAL mode. The only module that includes sqlite3.h.
//
// Threading: safe to use from any number of threads (cpp-httplib workers). Writes are serialized
// through one writer connection (WriteTransaction holds its mutex for its lifetime); reads check a
// connection out of a small pool (ReadTransaction), so readers never wait for writers (WAL).
//
// Durability: synchronous=FULL, so a commit() that returned OK survives kill -9 and power loss.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/embedded_file.h"
#include "common/result.h"
#include "common/thread_annotations.h"

struct sqlite3;
struct sqlite3_stmt;

namespace ota::metadata {

// Binds as a BLOB rather than TEXT.
struct Blob {
  std::string_view bytes;
};
struct Null {};

class Connection;

// A prepared statement checked out for one use; resets itself when destroyed so the cached
// statement can be reused. Obtained from a transaction's query().
class Query {
 public:
  Query(Query&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_), owned_(other.owned_) {
    other.stmt_ = nullptr;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query& operator=(Query&&) = delete;
  ~Query();

  // Advances to the next row: true if there is one, false when done.
  Result<bool> next();

  int64_t int64(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;
  bool is_null(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::optional<int64_t> optional_int64(int col) const;

 private:
  friend class Connection;
  Query(Connection* conn, sqlite3_stmt* stmt, bool owned) : conn_(conn), stmt_(stmt), owned_(owned) {}
  Connection* conn_;
  sqlite3_stmt* stmt_;
  bool owned_;  // a one-off statement (its cached twin was busy): finalized, not reset
};

// One sqlite3 handle with its statement cache. Not thread-safe; always reached through a
// transaction that owns it for the duration.
class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements that return no rows (DDL, pragmas).
  Status exec(std::string_view sql);

  template <class... Args>
  Result<Query> query(std::string_view sql, const Args&... args) {
    OTA_ASSIGN_OR_RETURN(auto prepared, prepare(sql));
    // Plain variables, not a structured binding: clang before 16 cannot capture those in a lambda.
    sqlite3_stmt* stmt = prepared.first;
    const bool owned = prepared.second;
    Query q(this, stmt, owned);  // resets (or finalizes) the statement even if binding fails
    int index = 1;
    Status bound;
    [[maybe_unused]] auto bind_one = [&](const auto& arg) {
      if (bound) bound = bind(stmt, index++, arg);
    };
    (bind_one(args), ...);
    if (!bound) return std::move(bound).error();
    return q;
  }

  // Runs a statement to completion; returns the number of rows it changed.
  template <class... Args>
  Result<int64_t> execute(std::string_view sql, const Args&... args) {
    OTA_ASSIGN_OR_RETURN(Query q, query(sql, args...));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
    }
    return changes();
  }

  int64_t changes() const;
  int64_t last_insert_rowid() const;
  Error last_error(std::string_view what) const;

 private:
  friend class Database;
  friend class Query;
  explicit Connection(sqlite3* db) : db_(db) {}
  // The cached statement for `sql`, or — when that one is in use by a live Query (nested
  // identical queries) — a fresh one the Query owns ({stmt, owned}).
  Result<std::pair<sqlite3_stmt*, bool>> prepare(std::string_view sql);
  Status bind(sqlite3_stmt* stmt, int index, int64_t v);
  Status bind(sqlite3_stmt* stmt, int index, int v) { return bind(stmt, index, static_cast<int64_t>(v)); }
  Status bind(sqlite3_stmt* stmt, int index, std::string_view v);
  Status bind(sqlite3_stmt* stmt, int index, const std::string& v) { return bind(stmt, index, std::string_view(v)); }
  Status bind(sqlite3_stmt* stmt, int index, const char* v) { return bind(stmt, index, std::string_view(v)); }
  Status bind(sqlite3_stmt* stmt, int index, Blob v);
  Status bind(sqlite3_stmt* stmt, int index, Null);
  template <class T>
  Status bind(sqlite3_stmt* stmt, int index, const std::optional<T>& v) {
    return v ? bind(stmt, index, *v) : bind(stmt, index, Null{});
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

struct DatabaseOptions {
  std::filesystem::path path;
  int read_connections = 4;  // concurrent ReadTransactions before the next one waits
  int busy_timeout_ms = 5000;  // how long to wait for another process's lock (CLI vs server)
  bool read_only = false;  // open without the writer (inspection tools)
};

class WriteTransaction;
class ReadTransaction;

class Database {
 public:
  // Opens (creating if needed) and applies the pragmas. Migrations are separate: see migrate().
  static Result<std::unique_ptr<Database>> open(const DatabaseOptions& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // BEGIN IMMEDIATE on the writer; blocks other writers in this process until it ends.
  Result<WriteTransaction> begin_write();
  // A consistent snapshot for reads; never blocks on writers.
  Result<ReadTransaction> begin_read();

  const std::filesystem::path& path() const { return options_.path; }

  // Writes a consistent copy of the whole database to `destination` (a new file), from one read
  // snapshot: writers keep going meanwhile. The copy is fsync'ed and independent of this file's
  // location (nothing absolute is stored).
  Status backup_to(const std::filesystem::path& destination);

 private:
  friend class ReadTransaction;
  explicit Database(DatabaseOptions options) : options_(std::move(options)) {}
  void return_reader(std::unique_ptr<Connection> conn) OTA_EXCLUDES(readers_mutex_);

  DatabaseOptions options_;
  std::mutex writer_mutex_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mutex_ through WriteTransaction

  std::mutex readers_mutex_;
  std::condition_variable reader_returned_;
  std::vector<std::unique_ptr<Connection>> idle_readers_ OTA_GUARDED_BY(readers_mutex_);
};

// Rolls back on destruction unless commit() succeeded. Move-only; holds the writer lock.
class [[nodiscard]] WriteTransaction {
 public:
  WriteTransaction(WriteTransaction&& other) noexcept;
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  WriteTransaction(const WriteTransaction&) = delete;
  ~WriteTransaction();

  Connection& conn() { return *conn_; }
  template <class... Args>
  Result<Query> query(std::string_view sql, const Args&... args) { return conn_->query(sql, args...); }
  template <class... Args>
  Result<int64_t> execute(std::string_view sql, const Args&... args) { return conn_->execute(sql, args...); }

  Status commit();

 private:
  friend class Database;
  WriteTransaction(std::unique_lock<std::mutex> lock, Connection* conn) : lock_(std::move(lock)), conn_(conn) {}
  std::unique_lock<std::mutex> lock_;
  Connection* conn_;
  bool done_ = false;
};

// A read snapshot on a pooled connection, returned to the pool on destruction.
class [[nodiscard]] ReadTransaction {
 public:
  ReadTransaction(ReadTransaction&& other) noexcept = default;
  ReadTransaction& operator=(ReadTransaction&&) = delete;
  ReadTransaction(const ReadTransaction&) = delete;
  ~ReadTransaction();

  template <class... Args>
  Result<Query> query(std::string_view sql, const Args&... args) { return conn_->query(sql, args...); }

 private:
  friend class Database;
  ReadTransaction(Database* db, std::unique_ptr<Connection> conn) : db_(db), conn_(std::move(conn)) {}
  Database* db_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace ota::metadata
