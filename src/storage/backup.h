// Backups of a data directory: a consistent copy of metadata.db (SQLite online backup) and the
// blob store (a RocksDB checkpoint) plus the files the caller names (secret.key), described by a
// BACKUP manifest with every file's size and SHA-256. The manifest is written last, so a backup
// without one is incomplete. Nothing in a backup is an absolute path: it restores anywhere.
//
// Consistency: the metadata copy is taken first, then the blob checkpoint, with blob deletions
// held off in between (Storage::hold_deletions). Publishes write blobs before the metadata that
// references them, so every blob the copied metadata references is in the copied blob store;
// blobs of publishes still in flight are orphans in the copy, which fsck reports and gc removes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/storage.h"

namespace ota::storage {

struct BackupFile {
  std::string path;  // relative, '/'-separated
  uint64_t size = 0;
  std::string sha256_hex;
};

struct BackupManifest {
  int64_t created_at_ms = 0;
  int schema_version = 0;
  std::vector<BackupFile> files;  // every file but BACKUP itself
  uint64_t bytes() const;
};

inline constexpr char kBackupManifestName[] = "BACKUP";
// Backups the server streams are staged in <data>/backup-tmp-*; leftovers of a crash are removed
// at the next start.
inline constexpr char kBackupTempPrefix[] = "backup-tmp-";

// Writes a backup of `storage` into `dir`, which must not exist (it is created 0700).
// `extra_files` are (relative name, content) pairs written 0600, e.g. {"secret.key", bytes}.
Result<BackupManifest> write_backup(Storage& storage, const std::filesystem::path& dir,
                                    const std::vector<std::pair<std::string, std::string>>& extra_files,
                                    int schema_version, int64_t now_ms);

// Reads `dir`/BACKUP and checks that every file it lists is there with its size and SHA-256 and
// that there is nothing else. Errors name the first bad file.
Result<BackupManifest> verify_backup(const std::filesystem::path& dir);

// Verifies `from`, then copies it into `data_dir`, which must not exist or be empty. Everything is
// fsync'ed before this returns; a failure removes what it wrote.
Result<BackupManifest> restore_backup(const std::filesystem::path& from, const std::filesystem::path& data_dir);

std::string format_manifest(const BackupManifest& m);
Result<BackupManifest> parse_manifest(std::string_view text);

}  // namespace ota::storage
