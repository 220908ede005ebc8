// Writes seed archives for tar_fuzz with our own tar writer (common/tar.h), shaped like what
// GET /api/v1/backup streams: BACKUP, metadata.db, blobs/..., secret.key. Run by make_seeds.py:
//   tar_seed OUT_DIR
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/tar.h"

namespace {

using Files = std::vector<std::pair<std::string, std::string>>;

std::string archive(const Files& files) {
  std::string out;
  for (const auto& [path, content] : files) {
    auto header = ota::tar::file_header(path, content.size(), 1'800'000'000);
    if (!header) {
      std::fprintf(stderr, "%s\n", header.error().message().c_str());
      std::exit(1);
    }
    out += *header + content + std::string(ota::tar::padding(content.size()), '\0');
  }
  return out + ota::tar::end_of_archive();
}

void write(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tar_seed OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  const std::string manifest =
      "otaserver-backup 1\ncreated_at_ms 1800000000000\nschema_version 6\n"
      "file 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae 3 blobs/CURRENT\n";
  const Files backup = {{"blobs/CURRENT", "foo"},
                        {"blobs/MANIFEST-000005", std::string(40, '\x01') + "rocksdb manifest"},
                        {"metadata.db", "SQLite format 3" + std::string(1, '\0') + std::string(600, 'x')},
                        {"secret.key", std::string("0123456789abcdef0123456789abcdef")},
                        {"BACKUP", manifest}};
  write(out / "backup.tar", archive(backup));
  write(out / "empty-file.tar", archive({{"empty", ""}, {"one", "1"}}));
  // A path over 100 bytes goes into the ustar prefix field.
  write(out / "long-path.tar", archive({{std::string(120, 'd') + "/" + std::string(90, 'f'), "long"}}));
  write(out / "end-only.tar", ota::tar::end_of_archive());
  std::string truncated = archive(backup);
  write(out / "truncated.tar", truncated.substr(0, 700));
  return 0;
}
