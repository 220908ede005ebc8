// Adoption counters without a client SDK: what the update and patch endpoints observe anyway
// (manifests served, launch-asset and patch downloads, distinct device ids, failures reported in
// expo-recent-failed-update-ids, the runtime versions devices ask for), counted in memory on the
// hot path and added to SQLite in one transaction per flush — never a write per request.
//
// Memory is bounded: at most `max_keys` distinct (update or patch, day) entries and as many
// check-in keys between flushes; events beyond that are dropped and counted in dropped(). Ids
// come from clients, so the flush keeps only rows for updates and patches that exist.
//
// Threading: the record functions are called from many worker threads (sharded locks, held for
// a hash lookup); flush() from one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::telemetry {

enum class Subject : uint8_t { kUpdate, kPatch };

struct Counts;

class UsageRecorder {
 public:
  explicit UsageRecorder(const Clock& clock, size_t max_keys = 20000);
  ~UsageRecorder();
  UsageRecorder(const UsageRecorder&) = delete;
  UsageRecorder& operator=(const UsageRecorder&) = delete;

  // A manifest (update) or check answer (patch) naming `id` was sent to a device.
  void served(Subject subject, std::string_view id, std::optional<std::string_view> device);
  // A device reported it runs update `id` (expo-current-update-id): it counts as a device on it.
  void running(std::string_view update_id, std::string_view device);
  // The launch asset of update `id`, or patch `id`'s bytes, were downloaded.
  void downloaded(Subject subject, std::string_view id, std::optional<std::string_view> device);
  // A device listed `update_id` in expo-recent-failed-update-ids.
  void failure_reported(std::string_view update_id, std::optional<std::string_view> device);
  // A device of `app_id` asked for (platform, runtime version, channel).
  void checked_in(int64_t app_id, std::string_view platform, std::string_view runtime_version,
                  std::string_view channel);

  // Adds everything counted since the last flush to usage_daily and runtime_checkins. On failure
  // (busy, disk full) the counts are kept for the next flush.
  Status flush(metadata::Database& db);

  uint64_t failure_reports_total() const { return failure_reports_total_.load(std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct State;
  template <class F>
  void change(Subject subject, std::string_view id, F&& apply);

  const Clock& clock_;
  std::unique_ptr<State> state_;
  std::atomic<uint64_t> failure_reports_total_{0};
  std::atomic<uint64_t> dropped_{0};
};

// Days since 1970-01-01 UTC, and back to "YYYY-MM-DD".
int64_t utc_day(int64_t unix_ms);
std::string day_text(int64_t day);

}  // namespace ota::telemetry
