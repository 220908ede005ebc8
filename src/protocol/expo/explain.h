// "Why does this device get that?": the manifest decision of select_update() for a device's
// headers, told rule by rule — the channel and its split, the stream (branch, runtime version,
// platform), and each candidate update with what included or excluded it (rollout bucket,
// rollback marker, the update the device already runs, deactivation).
//
// It reads the same catalog snapshot and applies the same rules as the manifest endpoint, so its
// outcome is what that device would be answered right now (tests hold the two to agreement).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/expo/catalog.h"
#include "protocol/expo/manifest_request.h"

namespace ota::expo {

struct ExplainStep {
  std::string rule;    // "channel", "channel split", "stream", "rollback marker", ...
  std::string result;  // "pass", "fail", "skip" or "info"
  std::string detail;  // one sentence a person can act on
};

struct ExplainCandidate {
  std::string id;
  std::string group_id;
  int64_t created_at_ms = 0;
  int rollout_percent = 100;
  std::string kind;     // "update" or "rollback"
  std::string verdict;  // "chosen", "excluded" or "not_reached"
  std::string reason;
};

// An update of the device's stream that is not servable (the catalog holds only active ones).
struct InactiveUpdate {
  std::string id;
  std::string group_id;
  int64_t created_at_ms = 0;
  std::string state;
};

struct Explanation {
  std::string outcome;                   // "manifest", "noUpdateAvailable", "rollBackToEmbedded", "nothing"
  std::optional<std::string> update_id;  // what is served, for "manifest" and "rollBackToEmbedded"
  std::string summary;
  std::string branch;  // the branch the device was routed to, if any
  std::vector<ExplainStep> steps;
  std::vector<ExplainCandidate> candidates;
};

// `inactive`: the stream's deactivated updates (newest first), so they can be named as excluded.
Explanation explain(const AppSnapshot& app, const ManifestRequest& request,
                    const std::vector<InactiveUpdate>& inactive);

// The branch id a request is routed to, or nullopt when its channel does not exist.
std::optional<int64_t> routed_branch(const AppSnapshot& app, const ManifestRequest& request);

}  // namespace ota::expo
