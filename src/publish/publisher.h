// Server side of publishing: turns uploaded blobs plus a commit request into an update group,
// visible all at once (docs/reliability.md §3.2):
//   1. every referenced blob is pinned and checked present (uploaded earlier, durably);
//   2. missing facts are derived from the bytes (MD5 key, size, content type) and compressed
//      variants are stored as blobs, synced;
//   3. one SQLite transaction inserts the group, its per-platform updates, asset rows and the audit
//      entry, and advances the app's createdAt high-water mark.
// A crash before 3 commits leaves only unreferenced blobs; after it, the whole group.
//
// Threading: commit() may run concurrently; the SQLite writer lock serializes step 3.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/result.h"
#include "model/update.h"
#include "storage/storage.h"

namespace ota::publish {

struct AssetUpload {
  crypto::Sha256 sha256;
  std::string ext;  // without the dot
};

struct PlatformCommit {
  model::Platform platform = model::Platform::kIos;
  std::string runtime_version;
  AssetUpload launch_asset;
  std::vector<AssetUpload> assets;
};

struct CommitRequest {
  std::string app;
  std::optional<std::string> branch;   // publish to this branch (created if new) ...
  std::optional<std::string> channel;  // ... or to the branch this channel points at
  std::string message;
  std::optional<std::string> git_commit;
  std::optional<std::string> git_branch;
  std::optional<std::string> idempotency_key;  // a retry with the same key returns the same group
  std::string expo_client_json = "{}";         // the public app config: manifest extra.expoClient
  std::string metadata_json = "{}";            // manifest metadata (string values)
  int rollout_percent = 100;
  std::vector<PlatformCommit> platforms;
};

struct CommitResult {
  std::string group_id;
  int64_t created_at_ms = 0;
  bool created = true;  // false when an idempotent retry found the earlier group
  int64_t app_id = 0;
  std::vector<model::Update> updates;  // id, platform, runtime_version, created_at_ms
};

// Parses the JSON body of POST /api/v1/apps/{app}/updates (the shape is in docs/api.md).
Result<CommitRequest> parse_commit_request(std::string_view app, std::string_view json);

// Runtime versions are opaque but must be printable ASCII without surrounding spaces, ≤ 256 bytes.
Status validate_runtime_version(std::string_view rv);

struct RollbackRequest {
  std::string app;
  std::optional<std::string> branch;
  std::optional<std::string> channel;
  std::string runtime_version;
  std::vector<model::Platform> platforms;
  std::string message;
};

// Parses the JSON body of POST /api/v1/apps/{app}/rollbacks:
// {"runtime_version": "1.0.0", "platform": "ios"|"android"|"all", "channel"|"branch": "...", "message": "..."}
Result<RollbackRequest> parse_rollback_request(std::string_view app, std::string_view json);

class Publisher {
 public:
  Publisher(storage::Storage& storage, const Clock& clock) : storage_(storage), clock_(clock) {}

  Result<CommitResult> commit(const CommitRequest& request, const auth::Actor& actor);

  // Publishes a roll-back-to-embedded marker per platform: devices on that branch and runtime get
  // the rollBackToEmbedded directive (protocol 1) until something newer is published. Its time is
  // later than every update already on the stream, and every later publish is later than it.
  Result<CommitResult> roll_back_to_embedded(const RollbackRequest& request, const auth::Actor& actor);

  // Publishes an earlier group again as a new group: same assets, app config and runtime
  // versions, fresh ids and a new createdAt — the only "rollback" devices accept, since they take
  // only updates newer than what they run. To the same branch unless `branch` or `channel` says.
  Result<CommitResult> republish(std::string_view app, std::string_view group_id, const std::optional<std::string>& branch,
                                 const std::optional<std::string>& channel, const auth::Actor& actor);

 private:
  storage::Storage& storage_;
  const Clock& clock_;
};

}  // namespace ota::publish
