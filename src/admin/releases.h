// Release management: listing updates, rollouts, deactivation and deletion of update groups, and
// channels (re-pointing one atomically, splitting its traffic between two branches).
//
// Every mutation writes its audit entry in the same transaction. Callers reload the catalog after.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "common/result.h"
#include "model/platform.h"
#include "storage/metadata/database.h"

namespace ota::admin {

struct UpdateRow {
  std::string id;
  std::string group_id;
  std::string branch;
  model::Platform platform = model::Platform::kIos;
  std::string runtime_version;
  std::string kind;  // "update" or "rollback"
  int64_t created_at_ms = 0;
  int rollout_percent = 100;
  std::string state;  // "active" or "deactivated"
  std::string message;
  std::optional<std::string> git_commit;
  std::optional<std::string> git_branch;
  uint64_t total_bytes = 0;  // identity bytes of every asset, launch asset included
  int asset_count = 0;
};

struct UpdateFilter {
  std::optional<std::string> branch;
  std::optional<std::string> runtime_version;
  std::optional<model::Platform> platform;
  int limit = 100;
};

// Newest first.
Result<std::vector<UpdateRow>> list_updates(metadata::Database& db, std::string_view app, const UpdateFilter& filter);

// Sets the rollout of every update in the group. The salt is kept, so raising the percentage
// never drops a device that already had it; 100 completes it, 0 stops giving it to new devices.
Status set_rollout(metadata::Database& db, std::string_view app, std::string_view group_id, int percent,
                   const auth::Actor& actor, int64_t now_ms);

// Deactivated updates are never served; devices fall back to the next update on the stream.
Status set_active(metadata::Database& db, std::string_view app, std::string_view group_id, bool active,
                  const auth::Actor& actor, int64_t now_ms);

// Removes the group's rows. Its blobs stay until garbage collection finds them unreferenced.
Status delete_group(metadata::Database& db, std::string_view app, std::string_view group_id,
                    const auth::Actor& actor, int64_t now_ms);

// One update group in the shape POST /api/v1/apps/{app}/updates takes, so it can be committed
// again elsewhere (promotion from staging to production).
Result<std::string> group_as_commit_json(metadata::Database& db, std::string_view app, std::string_view group_id);

struct ChannelRow {
  std::string name;
  std::string branch;
  std::optional<std::string> split_branch;
  int split_percent = 0;
};

Result<std::vector<ChannelRow>> list_channels(metadata::Database& db, std::string_view app);

// Creates the channel, or re-points it at `branch` (created if new) in one transaction. With
// `split_branch`, `split_percent`% of devices (by EAS-Client-ID) get that branch instead.
Result<ChannelRow> set_channel(metadata::Database& db, std::string_view app, std::string_view channel,
                               std::string_view branch, std::optional<std::string> split_branch, int split_percent,
                               const auth::Actor& actor, int64_t now_ms);

}  // namespace ota::admin
