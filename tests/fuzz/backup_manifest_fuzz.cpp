// The BACKUP manifest (parse_manifest in storage/backup.cpp): read from a backup directory by
// `otaserver restore` and by `otaserver backup --server` after unpacking what a server sent; its
// paths are joined to the backup and data directories. Properties:
//   - an accepted path is relative, has no ".." part and no NUL (which would cut the path short
//     when it is opened);
//   - format(parse(x)) parses back to the same manifest.

#include <string>

#include "common/strings.h"
#include "fuzz_support.h"
#include "storage/backup.h"

namespace {

using ota::storage::BackupManifest;

bool same(const BackupManifest& a, const BackupManifest& b) {
  if (a.created_at_ms != b.created_at_ms || a.schema_version != b.schema_version || a.files.size() != b.files.size()) {
    return false;
  }
  for (size_t i = 0; i < a.files.size(); ++i) {
    if (a.files[i].path != b.files[i].path || a.files[i].size != b.files[i].size ||
        a.files[i].sha256_hex != b.files[i].sha256_hex) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = ota::storage::parse_manifest(ota::fuzz::as_view(data, size));
  if (!m) {
    FUZZ_CHECK(m.error().code() == ota::ErrorCode::kCorruption);
    return 0;
  }
  for (const auto& f : m->files) {
    FUZZ_CHECK(!f.path.empty() && f.path.front() != '/');
    FUZZ_CHECK(f.path.find('\0') == std::string::npos);
    for (std::string_view part : ota::split(f.path, '/')) FUZZ_CHECK(part != "..");
  }
  auto again = ota::storage::parse_manifest(ota::storage::format_manifest(*m));
  FUZZ_CHECK(again && same(*again, *m));
  return 0;
}
