// Per-route HTTP request metrics: what `http/` records after each response and GET /metrics renders.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "telemetry/prometheus.h"

namespace ota::telemetry {

// A small fixed set of route labels keeps the number of series bounded whatever paths clients send.
enum class Route : uint8_t {
  kManifest,
  kAsset,
  kPatch,
  kPatchDownload,
  kPatchCheck,
  kApi,
  kAdmin,
  kMetrics,
  kHealth,
  kOther,
};
inline constexpr size_t kRouteCount = static_cast<size_t>(Route::kOther) + 1;

// The `route` label value: "manifest", "asset", "patch", "patch_download", "patch_check", "api",
// "admin", "metrics", "healthz", "other".
std::string_view route_name(Route route) noexcept;

// Maps a request path (a query string, if present, is ignored) to its route. Cheap enough for every
// request: prefix and equality tests only, no allocation.
//   /apps/{app}/manifest → kManifest      /apps/{app}/assets/... → kAsset
//   /patches/download/... → kPatchDownload  other /patches/... → kPatch
//   /api/v1/patches/check → kPatchCheck   other /api and /api/... → kApi
//   /admin and /admin/... → kAdmin        /metrics → kMetrics   /healthz → kHealth
//   anything else → kOther
// Patches served at custom URL templates fall under kOther: only the patch service can recognise
// them, so a caller that knows better passes its own Route to HttpMetrics::observe.
// `method` does not change the answer today; it is in the signature so that a route told apart by
// method alone can be added without touching every caller.
Route classify_route(std::string_view method, std::string_view path) noexcept;

// Bucket bounds of otaserver_http_request_duration_seconds: 100 µs (a cached manifest) to 10 s (a
// large asset on a slow link).
inline constexpr std::array<double, 16> kHttpLatencyBucketsSeconds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Counters for every answered request, by route and status. observe() is lock-free and wait-free
// (a few relaxed atomic increments, no allocation) and may be called from any thread; write() may
// run concurrently with it and sees each counter at some recent value. About 40 KB: create one per
// server and share it by reference.
//
// Series rendered by write():
//   otaserver_http_requests_total{route,status}            counter, only non-zero series
//   otaserver_http_request_duration_seconds{route}         histogram
//   otaserver_http_response_bytes_total{route}             counter
//   otaserver_http_not_modified_total{route}               counter (status 304)
// The per-route series appear once a route has answered its first request (then also at 0), so
// rate() works from the first 304 on and unused routes add nothing to the scrape.
class HttpMetrics {
 public:
  HttpMetrics();
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // `status` outside 100..599 is counted under status="other". `latency_ns` below 0 counts as 0.
  void observe(Route route, int status, int64_t latency_ns, uint64_t response_bytes) noexcept;

  void write(PrometheusWriter& out) const;

  uint64_t requests(Route route, int status) const noexcept;
  uint64_t response_bytes(Route route) const noexcept;
  const Histogram& latency(Route route) const noexcept;

 private:
  static constexpr int kFirstStatus = 100;
  static constexpr int kLastStatus = 599;
  // One slot per status code in range, plus one shared by everything outside it.
  static constexpr size_t kStatusSlots = kLastStatus - kFirstStatus + 2;

  static size_t route_index(Route route) noexcept;
  static size_t status_slot(int status) noexcept;

  std::array<std::atomic<uint64_t>, kRouteCount * kStatusSlots> requests_{};
  std::array<std::atomic<uint64_t>, kRouteCount> response_bytes_{};
  std::array<Histogram, kRouteCount> latency_;
};

}  // namespace ota::telemetry
