#include "telemetry/http_metrics.h"

#include <algorithm>
#include <charconv>
#include <utility>

namespace ota::telemetry {
namespace {

// Histogram can be neither copied nor moved (it owns atomics), so the array is built in place from a
// pack of prvalues.
template <size_t... I>
std::array<Histogram, kRouteCount> make_latency_histograms(std::index_sequence<I...>) {
  return {{(static_cast<void>(I), Histogram(kHttpLatencyBucketsSeconds))...}};
}

// True if `path` is `prefix` itself or lies below it ("/api", "/api/x"; not "/apiary").
bool is_at_or_under(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

std::string_view route_name(Route route) noexcept {
  switch (route) {
    case Route::kManifest:
      return "manifest";
    case Route::kAsset:
      return "asset";
    case Route::kPatch:
      return "patch";
    case Route::kPatchDownload:
      return "patch_download";
    case Route::kPatchCheck:
      return "patch_check";
    case Route::kApi:
      return "api";
    case Route::kAdmin:
      return "admin";
    case Route::kMetrics:
      return "metrics";
    case Route::kHealth:
      return "healthz";
    case Route::kOther:
      break;
  }
  return "other";
}

Route classify_route(std::string_view /*method*/, std::string_view path) noexcept {
  path = path.substr(0, path.find('?'));
  if (path.starts_with("/apps/")) {
    std::string_view rest = path.substr(6);  // "{app}/..."
    size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return Route::kOther;
    std::string_view tail = rest.substr(slash);
    if (tail == "/manifest") return Route::kManifest;
    if (tail.starts_with("/assets/") && tail.size() > 8) return Route::kAsset;
    return Route::kOther;
  }
  if (path.starts_with("/patches/")) {
    return path.starts_with("/patches/download/") ? Route::kPatchDownload : Route::kPatch;
  }
  if (path == "/api/v1/patches/check") return Route::kPatchCheck;
  if (is_at_or_under(path, "/api")) return Route::kApi;
  if (is_at_or_under(path, "/admin")) return Route::kAdmin;
  if (path == "/metrics") return Route::kMetrics;
  if (path == "/healthz") return Route::kHealth;
  return Route::kOther;
}

HttpMetrics::HttpMetrics() : latency_(make_latency_histograms(std::make_index_sequence<kRouteCount>())) {}

size_t HttpMetrics::route_index(Route route) noexcept {
  // A value cast from outside the enum must not index past the arrays.
  return std::min(static_cast<size_t>(route), static_cast<size_t>(Route::kOther));
}

size_t HttpMetrics::status_slot(int status) noexcept {
  if (status < kFirstStatus || status > kLastStatus) return kStatusSlots - 1;
  return static_cast<size_t>(status - kFirstStatus);
}

void HttpMetrics::observe(Route route, int status, int64_t latency_ns, uint64_t response_bytes) noexcept {
  size_t r = route_index(route);
  // Relaxed: each counter is independent and only ever added to; a scrape needs no ordering
  // between them.
  requests_[r * kStatusSlots + status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  latency_[r].observe_ns(latency_ns);
  response_bytes_[r].fetch_add(response_bytes, std::memory_order_relaxed);
}

uint64_t HttpMetrics::requests(Route route, int status) const noexcept {
  return requests_[route_index(route) * kStatusSlots + status_slot(status)].load(std::memory_order_relaxed);
}

uint64_t HttpMetrics::response_bytes(Route route) const noexcept {
  return response_bytes_[route_index(route)].load(std::memory_order_relaxed);
}

const Histogram& HttpMetrics::latency(Route route) const noexcept { return latency_[route_index(route)]; }

void HttpMetrics::write(PrometheusWriter& out) const {
  std::array<bool, kRouteCount> active{};

  out.family("otaserver_http_requests_total", "HTTP requests answered, by route and status code.", "counter");
  for (size_t r = 0; r < kRouteCount; ++r) {
    std::string_view route = route_name(static_cast<Route>(r));
    for (size_t slot = 0; slot < kStatusSlots; ++slot) {
      uint64_t n = requests_[r * kStatusSlots + slot].load(std::memory_order_relaxed);
      if (n == 0) continue;
      active[r] = true;
      char buf[8];
      std::string_view status = "other";
      if (slot + 1 < kStatusSlots) {
        auto result = std::to_chars(buf, buf + sizeof buf, static_cast<int>(slot) + kFirstStatus);
        status = std::string_view(buf, static_cast<size_t>(result.ptr - buf));
      }
      out.sample("otaserver_http_requests_total", {{"route", route}, {"status", status}}, n);
    }
  }

  out.family("otaserver_http_request_duration_seconds", "Time spent answering HTTP requests, by route.", "histogram");
  for (size_t r = 0; r < kRouteCount; ++r) {
    if (!active[r]) continue;
    latency_[r].write(out, "otaserver_http_request_duration_seconds", {{"route", route_name(static_cast<Route>(r))}});
  }

  out.family("otaserver_http_response_bytes_total", "HTTP response body bytes sent, by route.", "counter");
  for (size_t r = 0; r < kRouteCount; ++r) {
    if (!active[r]) continue;
    out.sample("otaserver_http_response_bytes_total", {{"route", route_name(static_cast<Route>(r))}},
               response_bytes_[r].load(std::memory_order_relaxed));
  }

  out.family("otaserver_http_not_modified_total",
             "HTTP requests answered 304 Not Modified (the client's copy was current), by route.", "counter");
  for (size_t r = 0; r < kRouteCount; ++r) {
    if (!active[r]) continue;
    out.sample("otaserver_http_not_modified_total", {{"route", route_name(static_cast<Route>(r))}},
               requests(static_cast<Route>(r), 304));
  }
}

}  // namespace ota::telemetry
