#include "storage/metadata/database.h"

#include <sqlite3.h>

#include "common/fs.h"

namespace ota::metadata {
namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_FULL) return no_space(message + " (free disk space, then retry)");
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
    return corruption(message + " (run `otaserver fsck`, or restore from a backup)");
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return unavailable(message + " (another process holds the metadata database; retry)");
  }
  if (primary == SQLITE_CONSTRAINT) return conflict(message);
  return internal_error(message);
}

Result<sqlite3*> open_handle(const DatabaseOptions& options, bool read_only) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "cannot open " + options.path.string());
    sqlite3_close(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  return db;
}

}  // namespace

// ---- Query

Query::~Query() {
  if (stmt_ != nullptr && owned_) {
    sqlite3_finalize(stmt_);
  } else if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Result<bool> Query::next() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(conn_->db_, rc, "query failed");
}

int64_t Query::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Query::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::string Query::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
}

bool Query::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::optional<std::string> Query::optional_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<int64_t> Query::optional_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

// ---- Connection

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::exec(std::string_view sql) {
  std::string owned(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return sqlite_error(nullptr, rc, "statement failed").context(text);
  }
  return ok();
}

Result<std::pair<sqlite3_stmt*, bool>> Connection::prepare(std::string_view sql) {
  std::string key(sql);
  auto it = statements_.find(key);
  bool busy = it != statements_.end() && sqlite3_stmt_busy(it->second);
  if (it != statements_.end() && !busy) return std::make_pair(it->second, false);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), busy ? 0 : SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "cannot prepare statement");
  if (busy) return std::make_pair(stmt, true);
  statements_.emplace(std::move(key), stmt);
  return std::make_pair(stmt, false);
}

Status Connection::bind(sqlite3_stmt* stmt, int index, int64_t v) {
  int rc = sqlite3_bind_int64(stmt, index, v);
  return rc == SQLITE_OK ? ok() : Status(sqlite_error(db_, rc, "bind"));
}

Status Connection::bind(sqlite3_stmt* stmt, int index, std::string_view v) {
  int rc = sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return rc == SQLITE_OK ? ok() : Status(sqlite_error(db_, rc, "bind"));
}

Status Connection::bind(sqlite3_stmt* stmt, int index, Blob v) {
  int rc = sqlite3_bind_blob64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? ok() : Status(sqlite_error(db_, rc, "bind"));
}

Status Connection::bind(sqlite3_stmt* stmt, int index, Null) {
  int rc = sqlite3_bind_null(stmt, index);
  return rc == SQLITE_OK ? ok() : Status(sqlite_error(db_, rc, "bind"));
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }
int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
Error Connection::last_error(std::string_view what) const { return sqlite_error(db_, sqlite3_errcode(db_), what); }

// ---- Database

Result<std::unique_ptr<Database>> Database::open(const DatabaseOptions& options) {
  std::unique_ptr<Database> db(new Database(options));
  if (!options.read_only) {
    OTA_ASSIGN_OR_RETURN(sqlite3 * handle, open_handle(options, false));
    db->writer_.reset(new Connection(handle));
    // WAL lets readers proceed during a write; FULL syncs the WAL on every commit (durable ack).
    OTA_TRY(db->writer_->exec("PRAGMA journal_mode=WAL").context("enable WAL on " + options.path.string()));
    OTA_ASSIGN_OR_RETURN(Query mode, db->writer_->query("PRAGMA journal_mode"));
    OTA_ASSIGN_OR_RETURN(bool has_row, mode.next());
    if (!has_row || mode.text(0) != "wal") {
      return internal_error("SQLite refused WAL mode on " + options.path.string() +
                            " (is the data directory on a network file system?)");
    }
    OTA_TRY(db->writer_->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  }
  std::lock_guard lock(db->readers_mutex_);
  for (int i = 0; i < std::max(1, options.read_connections); ++i) {
    OTA_ASSIGN_OR_RETURN(sqlite3 * handle, open_handle(options, true));
    auto conn = std::unique_ptr<Connection>(new Connection(handle));
    OTA_TRY(conn->exec("PRAGMA foreign_keys=ON;"));
    db->idle_readers_.push_back(std::move(conn));
  }
  return db;
}

Database::~Database() = default;

Result<WriteTransaction> Database::begin_write() {
  if (!writer_) return internal_error("the metadata database was opened read-only");
  std::unique_lock lock(writer_mutex_);
  OTA_TRY(writer_->exec("BEGIN IMMEDIATE").context("begin transaction"));
  return WriteTransaction(std::move(lock), writer_.get());
}

Status Database::backup_to(const std::filesystem::path& destination) {
  if (std::filesystem::exists(destination)) {
    return Error(ErrorCode::kConflict, "the backup target " + destination.string() + " exists already");
  }
  std::unique_ptr<Connection> source;
  {
    std::unique_lock lock(readers_mutex_);
    reader_returned_.wait(lock, [&]() OTA_REQUIRES(readers_mutex_) { return !idle_readers_.empty(); });
    source = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  struct ReturnReader {
    Database* db;
    std::unique_ptr<Connection>& conn;
    ~ReturnReader() { db->return_reader(std::move(conn)); }
  } give_back{this, source};

  sqlite3* target = nullptr;
  int rc = sqlite3_open_v2(destination.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> target_handle(target, sqlite3_close_v2);
  if (rc != SQLITE_OK) {
    return Error(ErrorCode::kUnavailable, "cannot create " + destination.string() + ": " +
                                              (target ? sqlite3_errmsg(target) : sqlite3_errstr(rc)));
  }
  sqlite3_backup* backup = sqlite3_backup_init(target, "main", source->db_, "main");
  if (backup == nullptr) return Error(ErrorCode::kInternal, std::string("sqlite backup: ") + sqlite3_errmsg(target));
  // One step copies every page under one read lock: a single consistent snapshot.
  rc = sqlite3_backup_step(backup, -1);
  int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE || finished != SQLITE_OK) {
    std::filesystem::remove(destination);
    return Error(rc == SQLITE_FULL ? ErrorCode::kNoSpace : ErrorCode::kUnavailable,
                 std::string("sqlite backup to ") + destination.string() + " failed: " + sqlite3_errstr(rc));
  }
  // The copy keeps the source's journal mode (WAL); checkpoint it into the main file so the
  // backup is one self-contained file.
  if (sqlite3_exec(target, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;", nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return Error(ErrorCode::kUnavailable, std::string("sqlite backup: ") + sqlite3_errmsg(target));
  }
  target_handle.reset();
  return fsync_file(destination);
}

Result<ReadTransaction> Database::begin_read() {
  std::unique_ptr<Connection> conn;
  {
    std::unique_lock lock(readers_mutex_);
    reader_returned_.wait(lock, [&]() OTA_REQUIRES(readers_mutex_) { return !idle_readers_.empty(); });
    conn = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  Status begun = conn->exec("BEGIN");
  if (!begun) {
    return_reader(std::move(conn));
    return std::move(begun).error().context("begin read");
  }
  return ReadTransaction(this, std::move(conn));
}

void Database::return_reader(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(readers_mutex_);
    idle_readers_.push_back(std::move(conn));
  }
  reader_returned_.notify_one();
}

// ---- transactions

WriteTransaction::WriteTransaction(WriteTransaction&& other) noexcept
    : lock_(std::move(other.lock_)), conn_(other.conn_), done_(other.done_) {
  other.done_ = true;
}

WriteTransaction::~WriteTransaction() {
  if (!done_) (void)conn_->exec("ROLLBACK");
}

Status WriteTransaction::commit() {
  Status st = conn_->exec("COMMIT");
  if (!st) {
    // A failed COMMIT (disk full, I/O error) leaves the transaction open: roll it back so
    // nothing of it is ever visible, and report the failure.
    (void)conn_->exec("ROLLBACK");
    done_ = true;
    return std::move(st).error().context("commit");
  }
  done_ = true;
  return ok();
}

ReadTransaction::~ReadTransaction() {
  if (conn_) {
    (void)conn_->exec("COMMIT");
    db_->return_reader(std::move(conn_));
  }
}

}  // namespace ota::metadata
