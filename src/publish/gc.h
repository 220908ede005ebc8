// Garbage collection: retention first, then mark and sweep of the blob store.
//
// Retention: per (branch, runtime version, platform) stream an app keeps its newest
// `retain_updates` updates, and always everything a device can still be served (down to and
// including the newest update every device may take). Older update groups are deleted.
// Mark: every blob an update references, and the compressed variants of those assets.
// Sweep: every other blob, unless a publish in flight pinned it, a client uploaded it within the
// grace period, or the server started less than a grace period ago (uploads made before a
// restart are not tracked). The sweep holds the metadata writer lock, so no commit can reference
// a blob between the check and the delete.
#pragma once

#include <vector>

#include "auth/tokens.h"
#include "common/result.h"
#include "crypto/digest.h"
#include "storage/storage.h"

namespace ota::publish {

struct GcOptions {
  int64_t grace_ms = 3600 * 1000;
  int64_t started_at_ms = 0;  // when this process started serving
  bool dry_run = false;       // report what would go, change nothing
};

struct GcReport {
  int groups_pruned = 0;
  int updates_pruned = 0;
  int asset_rows_removed = 0;
  int blobs_removed = 0;
  int blobs_kept_in_grace = 0;
  uint64_t bytes_removed = 0;
  uint64_t blob_bytes_before = 0;
  uint64_t blob_bytes_after = 0;
  bool sweep_skipped = false;  // the server started less than a grace period ago
  std::vector<crypto::Sha256> removed;
};

Result<GcReport> collect_garbage(storage::Storage& storage, const GcOptions& options, const auth::Actor& actor,
                                 int64_t now_ms);

}  // namespace ota::publish
