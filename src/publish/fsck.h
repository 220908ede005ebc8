// Consistency check of a data directory (docs/reliability.md §3.2, the test oracle):
//   sqlite      PRAGMA quick_check is "ok" and foreign_key_check is empty
//   references  every asset an update references exists in the blob store with its recorded size
//               (and its compressed variants)
//   hashes      (deep) every blob's SHA-256 equals its key
//   updates     every update has a launch asset; every group has at least one update
//   clock       no update is newer than its app's createdAt high-water mark
//   orphans     blobs nothing references (reported, not an error: garbage collection takes them)
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "storage/storage.h"

namespace ota::publish {

struct FsckReport {
  int updates = 0;
  int groups = 0;
  int referenced_blobs = 0;
  int blobs = 0;
  uint64_t blob_bytes = 0;
  int orphans = 0;
  uint64_t orphan_bytes = 0;
  std::vector<std::pair<std::string, uint64_t>> orphan_list;  // base64url digest and size, first 1000
  int hashed = 0;                                             // blobs re-hashed (deep)
  std::vector<std::string> problems;                          // empty means consistent
  bool ok() const { return problems.empty(); }
};

Result<FsckReport> check_consistency(storage::Storage& storage, bool deep);

}  // namespace ota::publish
