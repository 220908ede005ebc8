#include "app/data_dir.h"

#include "storage/backup.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "crypto/digest.h"
#include "storage/metadata/migrations.h"

namespace ota::app {
namespace {

constexpr size_t kSecretBytes = 32;

Result<std::string> load_or_create_secret(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    std::string secret = crypto::random_bytes(kSecretBytes);
    OTA_TRY(write_file_atomic(path, secret, 0600).context("create the server secret"));
    spdlog::info("created server secret path={}", path.string());
    return secret;
  }
  if (!S_ISREG(st.st_mode)) return invalid_argument(path.string() + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    // Tighten rather than refuse: the usual cause is a copy or restore that lost the mode.
    spdlog::warn("secret_permissions path={} mode={:o} action=chmod_0600", path.string(), st.st_mode & 0777);
    if (::chmod(path.c_str(), 0600) != 0) return errno_error(errno, "cannot chmod", path);
  }
  OTA_ASSIGN_OR_RETURN(std::string secret, read_file(path, 4096));
  if (secret.size() != kSecretBytes) {
    return corruption(path.string() + " holds " + std::to_string(secret.size()) + " bytes instead of 32; restore it " +
                      "from a backup (deleting it invalidates every signed link issued so far)");
  }
  return secret;
}

}  // namespace

Result<OpenDataDir> open_data_dir(const std::filesystem::path& root) {
  DataDirPaths paths{root};
  // root working on a service user's data directory would leave root-owned files (RocksDB's,
  // SQLite's journal) that the service can no longer open.
  struct stat st {};
  if (::geteuid() == 0 && ::stat(root.c_str(), &st) == 0 && st.st_uid != 0) {
    const passwd* owner = ::getpwuid(st.st_uid);
    std::string name = owner ? owner->pw_name : std::to_string(st.st_uid);
    return Error(ErrorCode::kForbidden, "the data directory " + root.string() + " belongs to user " + name +
                                            "; run this as that user so every file stays theirs: runuser -u " + name +
                                            " -- otaserver ...");
  }
  OTA_TRY(ensure_dir(root, 0750).context("data directory"));
  OTA_ASSIGN_OR_RETURN(DirLock lock, DirLock::acquire(paths.lock()));
  OTA_ASSIGN_OR_RETURN(std::string secret, load_or_create_secret(paths.secret()));
  // A backup being streamed when the process died leaves its staging copy behind.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory() && entry.path().filename().string().starts_with(storage::kBackupTempPrefix)) {
      std::filesystem::remove_all(entry.path(), ec);
      spdlog::info("removed the unfinished backup {}", entry.path().string());
    }
  }

  metadata::DatabaseOptions db_options;
  db_options.path = paths.metadata();
  OTA_ASSIGN_OR_RETURN(auto db, metadata::Database::open(db_options));
  OTA_ASSIGN_OR_RETURN(auto report, metadata::migrate(*db));
  if (report.to_version != report.from_version) {
    spdlog::info("schema_migrated from={} to={}", report.from_version, report.to_version);
  }

  blobs::BlobStoreOptions blob_options;
  blob_options.dir = paths.blobs();
  OTA_ASSIGN_OR_RETURN(auto blob_store, blobs::BlobStore::open(blob_options));

  OpenDataDir out{paths, std::move(lock), std::move(secret), report.to_version, report.from_version, nullptr};
  out.storage = std::make_unique<storage::Storage>(std::move(db), std::move(blob_store));
  return out;
}

}  // namespace ota::app
