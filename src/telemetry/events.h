// Counts of release events for GET /metrics: plain atomics bumped by the API handlers after a
// change commits.
#pragma once

#include <atomic>
#include <cstdint>

namespace ota::telemetry {

struct EventCounters {
  std::atomic<uint64_t> publishes{0};  // update groups committed (not idempotent retries)
  std::atomic<uint64_t> rollbacks{0};  // roll-back-to-embedded markers and republishes
  std::atomic<uint64_t> rollout_changes{0};
  std::atomic<uint64_t> deactivations{0};
  std::atomic<uint64_t> patch_publishes{0};
  std::atomic<uint64_t> patch_revocations{0};
};

}  // namespace ota::telemetry
