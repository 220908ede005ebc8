// What adoption counting and HTTP metrics add to each manifest request: the calls ExpoService and
// the server's logger make per request, timed in a loop, on 1 thread and on 2 (this box's cores).
// usage: usage_bench [iterations per thread]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "telemetry/http_metrics.h"
#include "telemetry/usage.h"

namespace {

using Clock = std::chrono::steady_clock;

double ns_per_call(int threads, long iterations, const std::function<void(int, long)>& body) {
  std::vector<std::thread> pool;
  auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { body(t, iterations); });
  for (auto& th : pool) th.join();
  double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  return ns / static_cast<double>(iterations);  // wall time per call on each thread
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  ota::SystemClock clock;
  std::vector<std::string> devices;
  for (int i = 0; i < 10000; ++i) devices.push_back("5f7c3a52-0d8e-4f43-9d8a-" + std::to_string(100000000000 + i));
  const std::string update = "749ae71a-ceaa-44f4-8c1a-f30e84710513";

  for (int threads : {1, 2}) {
    ota::telemetry::UsageRecorder usage(clock);
    double usage_ns = ns_per_call(threads, iterations, [&](int t, long n) {
      for (long i = 0; i < n; ++i) {
        const std::string& d = devices[static_cast<size_t>((i + t * 7919) % 10000)];
        usage.checked_in(1, "ios", "1.0.0", "production");
        usage.served(ota::telemetry::Subject::kUpdate, update, d);
      }
    });
    ota::telemetry::HttpMetrics metrics;
    double metrics_ns = ns_per_call(threads, iterations, [&](int, long n) {
      for (long i = 0; i < n; ++i) {
        metrics.observe(ota::telemetry::classify_route("GET", "/apps/demo/manifest"), 200, 800'000, 1500);
      }
    });
    std::printf("threads=%d  adoption (check-in + served): %.0f ns/request   http metrics: %.0f ns/request\n", threads,
                usage_ns, metrics_ns);
  }
  return 0;
}
