// Adoption reports: per update and patch of an app, per UTC day, what the endpoints counted
// (telemetry/usage.h), and the runtime versions devices check in with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::admin {

struct DayUsage {
  int64_t day = 0;  // days since 1970-01-01 UTC
  int64_t served = 0;
  int64_t downloads = 0;
  int64_t devices = 0;  // distinct device ids (estimate, about ±2%)
  int64_t failure_reports = 0;
  int64_t failed_devices = 0;  // distinct devices that reported a failure (estimate)
};

struct SubjectUsage {
  std::string subject;  // "update" or "patch"
  std::string id;
  std::string group_id;  // updates
  std::string platform;
  std::string runtime_version;  // updates; the version range for patches
  std::string branch;           // updates
  std::string kind;             // "update", "rollback" or "patch"
  std::string message;
  int64_t created_at_ms = 0;
  DayUsage total;              // devices: distinct over the whole period
  std::vector<DayUsage> days;  // only days with counts, oldest first
};

struct AdoptionReport {
  int64_t first_day = 0;
  int64_t last_day = 0;
  std::vector<SubjectUsage> subjects;  // newest first within updates, then patches
};

// The last `days` days up to and including the day of `now_ms`, for subjects with any counts.
Result<AdoptionReport> adoption(metadata::Database& db, std::string_view app, int days, int64_t now_ms);

struct RuntimeCheckin {
  std::string platform;
  std::string runtime_version;
  std::string channel;
  int64_t checks = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// What devices of `app` asked for (newest first, at most `limit`).
Result<std::vector<RuntimeCheckin>> runtime_checkins(metadata::Database& db, std::string_view app, int limit);

}  // namespace ota::admin
