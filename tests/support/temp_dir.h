// A fresh directory per test. Deleted when the test passes; kept, with its path printed, when it
// fails, so the SQLite file and RocksDB directory can be inspected.
#pragma once

#include <filesystem>

namespace ota::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace ota::testing
