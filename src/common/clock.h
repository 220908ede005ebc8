// Time as a seam: SystemClock in production, ManualClock in tests (URL expiry, createdAt).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace ota {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock milliseconds since the Unix epoch.
  virtual int64_t now_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void set(int64_t ms) { now_.store(ms); }
  void advance(int64_t ms) { now_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_;
};

// "2024-05-01T12:00:00.000Z": exactly three fractional digits, UTC (what expo clients parse).
std::string format_iso8601_ms(int64_t epoch_ms);
// "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 7231 IMF-fixdate) for Last-Modified.
std::string format_http_date(int64_t epoch_ms);

}  // namespace ota
