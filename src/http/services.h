// What the HTTP layer serves from: wired together by app/, used by the route files.
#pragma once

#include <functional>
#include <string>

#include "common/clock.h"
#include "protocol/expo/service.h"
#include "protocol/patch/service.h"
#include "publish/patches.h"
#include "publish/publisher.h"
#include "storage/storage.h"
#include "telemetry/events.h"
#include "telemetry/http_metrics.h"
#include "telemetry/usage.h"

namespace ota::http {

// What the /healthz endpoint reports.
struct HealthInfo {
  std::string version;
  int schema_version = 0;
};

struct Services {
  const Clock* clock = nullptr;
  HealthInfo health;
  storage::Storage* storage = nullptr;
  expo::ExpoService* expo = nullptr;
  publish::Publisher* publisher = nullptr;
  patch::PatchService* patches = nullptr;
  publish::PatchPublisher* patch_publisher = nullptr;
  std::string server_secret;
  int64_t started_at_ms = 0;
  int64_t gc_grace_ms = 3600 * 1000;
  telemetry::UsageRecorder* usage = nullptr;       // adoption counters (flushed by app/)
  telemetry::HttpMetrics* http_metrics = nullptr;  // requests by route and status
  telemetry::EventCounters* events = nullptr;      // publishes, rollbacks, ...
  std::function<size_t()> open_connections;        // client connections open now (idle included)
};

}  // namespace ota::http
