// `otaserver backup` and `otaserver restore`.
//
// A running server owns the stores (RocksDB allows one process), so `backup` asks it over the API
// for a consistent copy, streamed as a tar archive, and unpacks it locally; with --data and the
// server stopped, it copies the data directory itself. Either way the result is a directory with
// a BACKUP manifest that `restore` verifies (sizes and SHA-256 of every file) before it copies it
// into a new data directory, which it then checks like `fsck --deep`.
#include <fcntl.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "app/cli_support.h"
#include "app/commands.h"
#include "app/data_dir.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/strings.h"
#include "common/tar.h"
#include "publish/fsck.h"
#include "storage/backup.h"
#include "storage/metadata/migrations.h"

namespace ota::app {
namespace {

namespace fs = std::filesystem;
using config::Setting;
using config::Type;

constexpr Setting kBackupSettings[] = {
    {"to", Type::kPath, "", "the directory to write the backup into (must not exist)"},
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the running otaserver to back up"},
    {"token", Type::kString, "", "admin API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"data", Type::kPath, "", "back up this data directory directly instead (the server must be stopped)"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

constexpr Setting kRestoreSettings[] = {
    {"from", Type::kPath, "", "a backup directory made by `otaserver backup`"},
    {"data", Type::kPath, "", "the data directory to create (must not exist, or be empty)"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

std::string backup_help() {
  return "usage: otaserver backup --to DIR [--server URL]     (a running server; OTA_TOKEN = an admin token)\n"
         "       otaserver backup --to DIR --data DATA        (a stopped server's data directory)\n"
         "\n"
         "Writes a consistent backup into DIR: metadata.db (an SQLite online backup), blobs/ (a RocksDB\n"
         "checkpoint taken right after, with deletions held off in between), secret.key, and a BACKUP\n"
         "manifest with every file's size and SHA-256, written last. Publishes and device traffic go on\n"
         "meanwhile. DIR holds the signing keys' sealing secret: keep it as private as the data.\n"
         "Restore with `otaserver restore --from DIR --data NEWDIR`.\n"
         "\nFlags:\n" +
         config::describe_flags(kBackupSettings) +
         "\nExample (nightly, from cron):\n"
         "  OTA_TOKEN=... otaserver backup --to /srv/backups/ota-$(date +%F) --server http://127.0.0.1:8080\n";
}

std::string restore_help() {
  return "usage: otaserver restore --from BACKUP_DIR --data NEW_DATA_DIR\n"
         "\n"
         "Verifies a backup (every file's size and SHA-256 against its manifest), copies it into a new\n"
         "data directory, and checks the result like `otaserver fsck --deep`. Works on another path or\n"
         "machine: nothing in the data is absolute. Then start the server on it:\n"
         "  otaserver serve --data NEW_DATA_DIR\n"
         "A backup from an older otaserver is migrated when the server first opens it.\n"
         "\nFlags:\n" +
         config::describe_flags(kRestoreSettings);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Unpacks the server's archive into `dir` as it arrives.
class Unpacker {
 public:
  explicit Unpacker(fs::path dir)
      : dir_(std::move(dir)),
        reader_({[this](const std::string& path, uint64_t size) { return begin(path, size); },
                 [this](std::string_view data) { return write(data); }, [this] { return end(); }}) {}

  Status feed(std::string_view bytes) {
    received_ += bytes.size();
    return reader_.feed(bytes);
  }
  bool finished() const { return reader_.finished(); }
  uint64_t received() const { return received_; }

 private:
  Status begin(const std::string& path, uint64_t) {
    fs::path file = dir_ / path;
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) return Error(ErrorCode::kUnavailable, "cannot create " + file.parent_path().string() + ": " + ec.message());
    fd_ = UniqueFd(::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_.valid()) return errno_error(errno, "cannot create", file);
    current_ = file;
    return ok();
  }
  Status write(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_.get(), data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error(errno, "cannot write", current_);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return ok();
  }
  Status end() {
    if (::fsync(fd_.get()) != 0) return errno_error(errno, "cannot sync", current_);
    fd_ = UniqueFd();
    return ok();
  }

  fs::path dir_;
  tar::Reader reader_;
  UniqueFd fd_;
  fs::path current_;
  uint64_t received_ = 0;
};

int backup_through_server(const config::Config& cfg, const fs::path& to) {
  auto client = connect_from(cfg);
  if (!client) return fail("backup", client.error());
  // Unpacked beside the target and renamed at the end: DIR exists only once it is complete.
  fs::path partial = to;
  partial += ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::create_directories(partial, ec);
  if (ec)
    return fail("backup", Error(ErrorCode::kUnavailable, "cannot create " + partial.string() + ": " + ec.message()));
  fs::permissions(partial, fs::perms::owner_all, ec);
  Unpacker unpacker(partial);
  auto started = std::chrono::steady_clock::now();
  Status streamed = client->get_stream("/api/v1/backup", [&](std::string_view bytes) { return unpacker.feed(bytes); });
  auto cleanup = [&] { fs::remove_all(partial, ec); };
  if (!streamed) {
    cleanup();
    return fail("backup", streamed.error());
  }
  if (!unpacker.finished()) {
    cleanup();
    return fail("backup", unavailable("the server's archive ended early; nothing was written to " + to.string()));
  }
  auto manifest = storage::verify_backup(partial);
  if (!manifest) {
    cleanup();
    return fail("backup", manifest.error());
  }
  if (::rename(partial.c_str(), to.c_str()) != 0) {
    Error e = errno_error(errno, "cannot rename the finished backup to", to);
    cleanup();
    return fail("backup", e);
  }
  (void)fsync_dir(to.parent_path().empty() ? fs::path(".") : to.parent_path());
  std::printf("backup of %s written to %s: %zu files, %s, schema %d, in %.2f s (verified)\n", cfg.str("server").c_str(),
              to.string().c_str(), manifest->files.size() + 1, format_bytes(manifest->bytes()).c_str(),
              manifest->schema_version, seconds_since(started));
  return kExitOk;
}

int backup_data_dir(const fs::path& data, const fs::path& to) {
  if (!fs::exists(data / "metadata.db"))
    return fail("backup", not_found("no otaserver data directory at " + data.string()));
  auto opened = open_data_dir(data);
  if (!opened) {
    if (opened.error().code() == ErrorCode::kConflict) {
      return fail("backup", Error(ErrorCode::kConflict, opened.error().message() +
                                                            "; or back up through the running server: otaserver "
                                                            "backup --to DIR --server URL"));
    }
    return fail("backup", opened.error());
  }
  auto started = std::chrono::steady_clock::now();
  SystemClock clock;
  auto manifest = storage::write_backup(*opened->storage, to, {{"secret.key", opened->secret}}, opened->schema_version,
                                        clock.now_ms());
  if (!manifest) return fail("backup", manifest.error());
  std::printf("backup of %s written to %s: %zu files, %s, schema %d, in %.2f s\n", data.string().c_str(),
              to.string().c_str(), manifest->files.size() + 1, format_bytes(manifest->bytes()).c_str(),
              manifest->schema_version, seconds_since(started));
  return kExitOk;
}

int run_backup(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("backup", kBackupSettings, args, backup_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("to").empty()) return fail("backup", invalid_argument("--to DIR is required: where to write the backup"));
  fs::path to = cfg.str("to");
  if (fs::exists(to)) {
    return fail("backup", Error(ErrorCode::kConflict, to.string() + " exists already; choose a new directory"));
  }
  if (!cfg.str("data").empty()) return backup_data_dir(cfg.str("data"), to);
  return backup_through_server(cfg, to);
}

int run_restore(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("restore", kRestoreSettings, args, restore_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("from").empty() || cfg.str("data").empty()) {
    return fail("restore", invalid_argument("--from BACKUP_DIR and --data NEW_DATA_DIR are required"));
  }
  auto started = std::chrono::steady_clock::now();
  auto manifest = storage::restore_backup(cfg.str("from"), cfg.str("data"));
  if (!manifest) return fail("restore", manifest.error());
  if (manifest->schema_version > metadata::latest_schema_version()) {
    std::printf(
        "restored, but the backup has schema %d and this otaserver knows up to %d: start it with a newer "
        "otaserver\n",
        manifest->schema_version, metadata::latest_schema_version());
    return kExitFailure;
  }
  auto opened = open_data_dir(cfg.str("data"));
  if (!opened) return fail("restore", opened.error());
  auto report = publish::check_consistency(*opened->storage, /*deep=*/true);
  if (!report) return fail("restore", report.error());
  std::printf("restored %zu files (%s) from %s into %s in %.2f s; schema %d%s\n", manifest->files.size(),
              format_bytes(manifest->bytes()).c_str(), cfg.str("from").c_str(), cfg.str("data").c_str(),
              seconds_since(started), opened->schema_version,
              opened->migrated_from != opened->schema_version ? " (migrated)" : "");
  std::printf("check: %d update groups, %d updates, %d referenced blobs, %d blobs re-hashed, %d orphans: %s\n",
              report->groups, report->updates, report->referenced_blobs, report->hashed, report->orphans,
              report->ok() ? "consistent" : "INCONSISTENT");
  for (const auto& p : report->problems) std::printf("PROBLEM: %s\n", p.c_str());
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace

std::string backup_commands_help(std::string_view name) { return name == "restore" ? restore_help() : backup_help(); }
int run_backup_command(std::span<const std::string> args) { return run_backup(args); }
int run_restore_command(std::span<const std::string> args) { return run_restore(args); }

}  // namespace ota::app
