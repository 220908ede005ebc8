// Schema migrations: schema/NNN_name.sql files embedded in the binary, applied in order, each in
// its own transaction together with its record in schema_migrations, so a crash mid-migration
// leaves the schema at the previous version, never half-way.
#pragma once

#include <span>

#include "common/embedded_file.h"
#include "storage/metadata/database.h"

namespace ota::metadata {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The migrations compiled into this binary, in version order.
std::span<const EmbeddedFile> embedded_schema_files();
// Parses file names "NNN_name.sql"; fails on gaps or duplicates (a build error, caught in tests).
Result<std::vector<Migration>> parse_migrations(std::span<const EmbeddedFile> files);

// The newest version this binary knows.
int latest_schema_version();

// The version recorded in `db` (0 for a fresh file).
Result<int> current_schema_version(Database& db);

struct MigrationReport {
  int from_version = 0;
  int to_version = 0;
};

// Applies every migration newer than the file's version. Refuses with a clear error if the file's
// schema is newer than this binary knows (it was written by a newer otaserver).
Result<MigrationReport> migrate(Database& db, std::span<const Migration> migrations);
Result<MigrationReport> migrate(Database& db);

}  // namespace ota::metadata
