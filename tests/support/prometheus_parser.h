// A strict reader of the Prometheus text exposition format 0.0.4, for tests that check what
// GET /metrics serves. It accepts what the Go expfmt text parser (promtool check metrics, the
// Prometheus scraper) accepts, minus the leniencies a server we write should never need, and it adds
// the checks promtool's linter and the format's own rules make:
//   - every sample belongs to a family whose `# TYPE` line came before it, and a family's lines form
//     one group (HELP and TYPE first, at most once each);
//   - metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* without a
//     leading "__"; no label twice in one sample; label values are valid UTF-8 and use only the
//     escapes \\ \" \n (HELP text: \\ \n);
//   - no series (name plus label set, in any order) appears twice;
//   - values are decimal floats, +Inf, -Inf or NaN; an optional timestamp is an integer; the text
//     ends with a newline; no carriage returns;
//   - counters are named *_total and are >= 0; other types are not named *_total;
//   - histogram series have `le` on every _bucket and nowhere else, cumulative non-decreasing
//     buckets ending in le="+Inf", a _count equal to the +Inf bucket, and a _sum; summaries have a
//     `quantile` on every quantile sample, a _sum and a _count.
// Self-contained (standard library only) so any test executable can compile it in.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ota::testing {

using PromLabelsView = std::initializer_list<std::pair<std::string_view, std::string_view>>;

struct PromSample {
  std::string name;                                         // as written, e.g. "x_seconds_bucket"
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped, in written order
  double value = 0;
  std::optional<int64_t> timestamp_ms;
  int line = 0;  // 1-based
};

struct PromFamily {
  std::string name;
  std::string type;                 // "counter", "gauge", "histogram", "summary", "untyped"
  std::optional<std::string> help;  // unescaped
  std::vector<PromSample> samples;  // in written order
};

struct ParsedMetrics {
  // Empty when the text is valid; otherwise "line N: what is wrong: <the line>" (families is then
  // incomplete and should not be used).
  std::string error;
  std::vector<PromFamily> families;  // in written order

  bool ok() const { return error.empty(); }
  const PromFamily* family(std::string_view name) const;
  // The series named `sample_name` (e.g. "x_count") whose label set is exactly `labels`, in any order.
  std::optional<double> value(std::string_view sample_name, PromLabelsView labels = {}) const;
  // The sum over all series named `sample_name` whose labels include every one of `labels` (0 if
  // none), e.g. sum("otaserver_http_requests_total", {{"route", "asset"}}) over all statuses.
  double sum(std::string_view sample_name, PromLabelsView labels = {}) const;
  // Every sample named `sample_name`, in written order.
  std::vector<const PromSample*> samples(std::string_view sample_name) const;
};

ParsedMetrics parse_prometheus_text(std::string_view text);

}  // namespace ota::testing
