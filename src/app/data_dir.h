// The data directory and what lives in it (ARCHITECTURE.md, "Data directory"):
//
//   DIR/otaserver.lock   flock held by the serving process; holds its pid for error messages
//   DIR/secret.key       32 random bytes, mode 0600: the root of HMAC keys (signed URLs, links)
//   DIR/metadata.db      SQLite (WAL: metadata.db-wal, metadata.db-shm)
//   DIR/blobs/           RocksDB: content-addressed blobs
//
// Nothing stored inside refers to the directory's own path, so a copy restores anywhere.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/fs.h"
#include "common/result.h"
#include "storage/storage.h"

namespace ota::app {

struct DataDirPaths {
  std::filesystem::path root;
  std::filesystem::path lock() const { return root / "otaserver.lock"; }
  std::filesystem::path secret() const { return root / "secret.key"; }
  std::filesystem::path metadata() const { return root / "metadata.db"; }
  std::filesystem::path blobs() const { return root / "blobs"; }
};

// An opened data directory: locked for this process, migrated, with both stores open.
struct OpenDataDir {
  DataDirPaths paths;
  DirLock lock;
  std::string secret;  // 32 bytes
  int schema_version = 0;
  int migrated_from = 0;
  std::unique_ptr<storage::Storage> storage;
};

// Creates the directory on first use, takes the lock (kConflict if another process has it),
// loads or creates the secret, opens SQLite and applies migrations (kConflict if the schema is
// newer than this binary), then opens the blob store.
Result<OpenDataDir> open_data_dir(const std::filesystem::path& root);

}  // namespace ota::app
