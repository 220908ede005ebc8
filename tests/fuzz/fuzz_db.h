// A migrated metadata.db in a private temporary directory for the stateful fuzz targets (tokens,
// sessions, asset tokens, patch links). Built once in LLVMFuzzerInitialize; the directory is
// removed when the fuzzer exits normally.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "storage/metadata/database.h"
#include "storage/metadata/migrations.h"

namespace ota::fuzz {

// A fresh directory under $TMPDIR (default /tmp), removed at exit.
inline std::filesystem::path make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/ota-fuzz-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  static std::filesystem::path dir;
  dir = pattern;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  });
  return dir;
}

// Opens and migrates metadata.db in `dir`; aborts on failure (the harness is broken, not the parser).
inline std::unique_ptr<metadata::Database> open_db(const std::filesystem::path& dir) {
  auto db = metadata::Database::open({.path = dir / "metadata.db"});
  if (!db) {
    std::fprintf(stderr, "fuzz setup: %s\n", db.error().message().c_str());
    std::abort();
  }
  if (auto migrated = metadata::migrate(**db); !migrated) {
    std::fprintf(stderr, "fuzz setup: %s\n", migrated.error().message().c_str());
    std::abort();
  }
  return std::move(*db);
}

// Aborts with `what` when a setup step fails.
template <class R>
void must(const R& r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "fuzz setup: %s: %s\n", what, r.error().message().c_str());
    std::abort();
  }
}

}  // namespace ota::fuzz
