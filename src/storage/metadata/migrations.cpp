#include "storage/metadata/migrations.h"

#include <algorithm>
#include <chrono>

#include "common/strings.h"

namespace ota::metadata {

Result<std::vector<Migration>> parse_migrations(std::span<const EmbeddedFile> files) {
  std::vector<Migration> out;
  for (const auto& f : files) {
    std::string_view name = f.path;
    size_t underscore = name.find('_');
    if (underscore == std::string_view::npos || !name.ends_with(".sql")) {
      return internal_error("schema file " + std::string(name) + " is not named NNN_name.sql");
    }
    auto version = parse_uint(name.substr(0, underscore));
    if (!version || *version == 0) {
      return internal_error("schema file " + std::string(name) + " does not start with a version number");
    }
    out.push_back({static_cast<int>(*version), name.substr(underscore + 1, name.size() - underscore - 5), f.bytes});
  }
  std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i].version != static_cast<int>(i) + 1) {
      return internal_error("schema versions must be 1, 2, 3, ... without gaps; found " +
                            std::to_string(out[i].version) + " at position " + std::to_string(i + 1));
    }
  }
  return out;
}

int latest_schema_version() {
  auto migrations = parse_migrations(embedded_schema_files());
  return migrations ? static_cast<int>(migrations->size()) : 0;
}

Result<int> current_schema_version(Database& db) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto exists,
                       tx.query("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'"));
  OTA_ASSIGN_OR_RETURN(bool row, exists.next());
  if (!row || exists.int64(0) == 0) return 0;
  OTA_ASSIGN_OR_RETURN(auto max, tx.query("SELECT coalesce(max(version), 0) FROM schema_migrations"));
  OTA_ASSIGN_OR_RETURN(row, max.next());
  return row ? static_cast<int>(max.int64(0)) : 0;
}

Result<MigrationReport> migrate(Database& db, std::span<const Migration> migrations) {
  MigrationReport report;
  {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
    OTA_TRY(tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)"));
    OTA_TRY(tx.commit());
  }
  OTA_ASSIGN_OR_RETURN(report.from_version, current_schema_version(db));
  int latest = migrations.empty() ? 0 : migrations.back().version;
  if (report.from_version > latest) {
    return Error(ErrorCode::kConflict,
                 "the metadata in " + db.path().string() + " has schema version " +
                     std::to_string(report.from_version) + ", newer than this otaserver knows (" +
                     std::to_string(latest) +
                     "); it was written by a newer release. Run that release or newer, or restore a backup made "
                     "with this one");
  }
  for (const auto& m : migrations) {
    if (m.version <= report.from_version) continue;
    std::string what = "schema migration " + std::to_string(m.version) + " (" + std::string(m.name) + ")";
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
    OTA_TRY(tx.conn().exec(m.sql).context(what));
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    OTA_TRY(tx.execute("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (?, ?, ?)", m.version,
                       m.name, static_cast<int64_t>(now)));
    OTA_TRY(tx.commit().context(what));
  }
  report.to_version = std::max(report.from_version, latest);
  return report;
}

Result<MigrationReport> migrate(Database& db) {
  OTA_ASSIGN_OR_RETURN(auto migrations, parse_migrations(embedded_schema_files()));
  return migrate(db, migrations);
}

}  // namespace ota::metadata
