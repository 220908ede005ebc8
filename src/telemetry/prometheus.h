// The Prometheus text exposition format (version 0.0.4, the body of GET /metrics) and a lock-free
// duration histogram to feed it.
//
// Writing happens only on a scrape, so PrometheusWriter may allocate; observing happens on request
// paths, so Histogram::observe* never allocates, locks or throws.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ota::telemetry {

// One label: name (a Prometheus label name written by code) and value (any text; escaped here).
using Label = std::pair<std::string_view, std::string_view>;

// Builds one exposition body. Call family() once per metric family, then sample() for each of its
// series; take() hands over the text. Not thread-safe: one writer per scrape.
//
// Preconditions (checked by assert in debug builds, and by tests/support/prometheus_parser.h):
// metric and label names are valid Prometheus names; each family's samples directly follow its
// family() call; a series is written once. Label values may be any bytes: they are escaped, and
// invalid UTF-8 is replaced with U+FFFD because Prometheus rejects the whole scrape otherwise.
class PrometheusWriter {
 public:
  // `type` is "counter", "gauge", "histogram", "summary" or "untyped". `help` may contain any text;
  // backslash and newline are escaped. (Readers drop leading blanks of `help`: the format cannot
  // carry them.)
  void family(std::string_view name, std::string_view help, std::string_view type);

  // Prefer the uint64_t overloads for counts: they print every digit, where a double holds only 53
  // bits. (Pass an explicit type: a plain `1` is ambiguous between the two.)
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  // For label sets assembled at run time (Histogram adds `le` to its caller's labels).
  void sample(std::string_view name, std::span<const Label> labels, double value);
  void sample(std::string_view name, std::span<const Label> labels, uint64_t value);

  // The text written so far; the writer is empty afterwards.
  std::string take();

 private:
  void begin_sample(std::string_view name, std::span<const Label> labels);

  std::string out_;
};

// `value` as the format wants it: integers without exponent or fraction ("1000000"), other finite
// values in the shortest form that parses back to the same double, and "+Inf", "-Inf", "NaN".
std::string format_prometheus_value(double value);

// A cumulative histogram of durations with fixed bucket bounds, safe to observe from any number of
// threads at once. Counts are exact; write() renders a consistent count (the +Inf bucket always
// equals _count) while observations continue.
class Histogram {
 public:
  // Upper bounds in seconds, finite and strictly increasing; the +Inf bucket is implicit.
  explicit Histogram(std::span<const double> upper_bounds_seconds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Durations are kept in whole nanoseconds. Negative and NaN durations count as 0 (a clock step
  // must not lose a request); the sum wraps after 2^64 ns, about 584 years of summed latency.
  void observe(double seconds) noexcept;
  void observe_ns(int64_t nanoseconds) noexcept;

  // Emits `<name>_bucket{labels...,le="..."}` for every bound and "+Inf", then `<name>_sum` (seconds)
  // and `<name>_count`. The caller has already written the family line for `name`.
  void write(PrometheusWriter& out, std::string_view name, std::initializer_list<Label> labels = {}) const;

  uint64_t count() const noexcept;
  double sum_seconds() const noexcept;
  std::span<const double> upper_bounds() const noexcept { return upper_bounds_; }

 private:
  void record(uint64_t ns) noexcept;

  std::vector<double> upper_bounds_;  // as given, for the `le` labels
  // The same bounds in whole nanoseconds, so observe_ns compares integers and never converts.
  std::vector<uint64_t> upper_bounds_ns_;
  // Per-bucket (not cumulative) counts, one more than the bounds for +Inf. There is no separate
  // count: it is the sum of the buckets, so a scrape cannot see the +Inf bucket and _count disagree.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  // The sum is kept as integer nanoseconds rather than an atomic<double>: fetch_add on an integer is
  // one wait-free instruction where a double needs a compare-exchange loop that retries under
  // contention, integer addition is exact and order-independent (concurrent sums come out the same
  // every time), and 2^64 ns (584 years of summed latency) cannot overflow in practice.
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace ota::telemetry
