#include "telemetry/prometheus.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <limits>

namespace ota::telemetry {
namespace {

[[maybe_unused]] bool is_metric_name(std::string_view s) {
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; };
  auto rest = [&](char c) { return first(c) || (c >= '0' && c <= '9'); };
  return !s.empty() && first(s[0]) && std::all_of(s.begin() + 1, s.end(), rest);
}

// Names starting with "__" are reserved for Prometheus itself.
[[maybe_unused]] bool is_label_name(std::string_view s) {
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto rest = [&](char c) { return first(c) || (c >= '0' && c <= '9'); };
  return !s.empty() && first(s[0]) && std::all_of(s.begin() + 1, s.end(), rest) && !s.starts_with("__");
}

[[maybe_unused]] bool is_metric_type(std::string_view t) {
  return t == "counter" || t == "gauge" || t == "histogram" || t == "summary" || t == "untyped";
}

// Length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, surrogates or code points
// above U+10FFFF) at the start of `s`, or 0 if there is none. s[0] is not ASCII.
size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  unsigned c = byte(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c >= 0xE1 && c <= 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// HELP text escapes only backslash and newline (a double quote stays as is there).
void append_help(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_label_value(std::string& out, std::string_view value) {
  size_t i = 0;
  while (i < value.size()) {
    char c = value[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c == '"') {
        out += "\\\"";
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
      ++i;
      continue;
    }
    size_t n = utf8_sequence_length(value.substr(i));
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, one per bad byte
      ++i;
    } else {
      out.append(value.substr(i, n));
      i += n;
    }
  }
}

// Integral values below 1e21 print in full ("1000000", never "1e+06") so counters stay readable and
// grep-able; other values of ordinary size print in plain decimal (le="0.0001", not "1e-04"), and
// only the very small or very large use an exponent. Every form is the shortest that parses back to
// the same double.
void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  if (value == 0) {  // also -0, which would print as "-0"
    out += '0';
    return;
  }
  double magnitude = std::fabs(value);
  bool integral = std::trunc(value) == value;
  auto format = (integral && magnitude < 1e21) || (!integral && magnitude >= 1e-4) ? std::chars_format::fixed
                                                                                   : std::chars_format::general;
  char buf[64];  // fixed: at most 21 integer digits, or "0.000" + 17 significant digits; plus sign
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, format);
  assert(ec == std::errc());
  out.append(buf, end);
}

void append_value(std::string& out, uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  assert(ec == std::errc());
  out.append(buf, end);
}

// Largest duration whose nanosecond count still fits in uint64_t (2^64 ns is about 1.8447e10 s).
constexpr double kMaxSeconds = 1.8e10;

uint64_t seconds_to_ns(double seconds) noexcept {
  if (!(seconds > 0)) return 0;  // negative or NaN
  if (seconds >= kMaxSeconds) return std::numeric_limits<uint64_t>::max();
  return static_cast<uint64_t>(seconds * 1e9 + 0.5);
}

}  // namespace

std::string format_prometheus_value(double value) {
  std::string out;
  append_value(out, value);
  return out;
}

// ---- PrometheusWriter ----------------------------------------------------------------------------

void PrometheusWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  assert(is_metric_name(name));
  assert(is_metric_type(type));
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  append_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void PrometheusWriter::begin_sample(std::string_view name, std::span<const Label> labels) {
  assert(is_metric_name(name));
  out_ += name;
  if (!labels.empty()) {
    char separator = '{';
    for (const auto& [label, value] : labels) {
      assert(is_label_name(label));
      out_ += separator;
      out_ += label;
      out_ += "=\"";
      append_label_value(out_, value);
      out_ += '"';
      separator = ',';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void PrometheusWriter::sample(std::string_view name, std::span<const Label> labels, double value) {
  begin_sample(name, labels);
  append_value(out_, value);
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, std::span<const Label> labels, uint64_t value) {
  begin_sample(name, labels);
  append_value(out_, value);
  out_ += '\n';
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
}

void PrometheusWriter::sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value) {
  sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
}

std::string PrometheusWriter::take() { return std::exchange(out_, {}); }

// ---- Histogram -----------------------------------------------------------------------------------

Histogram::Histogram(std::span<const double> upper_bounds_seconds)
    : upper_bounds_(upper_bounds_seconds.begin(), upper_bounds_seconds.end()),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_seconds.size() + 1)) {
  upper_bounds_ns_.reserve(upper_bounds_.size());
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    assert(std::isfinite(upper_bounds_[i]));
    assert(i == 0 || upper_bounds_[i - 1] < upper_bounds_[i]);
    upper_bounds_ns_.push_back(seconds_to_ns(upper_bounds_[i]));
  }
}

void Histogram::observe(double seconds) noexcept { record(seconds_to_ns(seconds)); }

void Histogram::observe_ns(int64_t nanoseconds) noexcept {
  record(nanoseconds > 0 ? static_cast<uint64_t>(nanoseconds) : 0);
}

void Histogram::record(uint64_t ns) noexcept {
  // `le` is inclusive: the first bound >= ns. With ~16 bounds this is four comparisons.
  size_t bucket = static_cast<size_t>(std::lower_bound(upper_bounds_ns_.begin(), upper_bounds_ns_.end(), ns) -
                                      upper_bounds_ns_.begin());
  // Relaxed: each counter only needs its own increments to be atomic; nothing is published through
  // them, and a scrape tolerates seeing one observation's bucket before its sum.
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(ns, std::memory_order_relaxed);
}

uint64_t Histogram::count() const noexcept {
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) total += buckets_[i].load(std::memory_order_relaxed);
  return total;
}

double Histogram::sum_seconds() const noexcept {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

void Histogram::write(PrometheusWriter& out, std::string_view name, std::initializer_list<Label> labels) const {
  std::string bucket_name = std::string(name) + "_bucket";
  std::vector<Label> bucket_labels(labels.begin(), labels.end());
  bucket_labels.emplace_back("le", std::string_view());
  // Each bucket is read once and accumulated here, so the rendered buckets are cumulative and the
  // +Inf bucket is exactly the _count below, however many observations land during the scrape.
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < upper_bounds_.size() ? format_prometheus_value(upper_bounds_[i]) : "+Inf";
    bucket_labels.back().second = le;
    out.sample(bucket_name, bucket_labels, cumulative);
  }
  out.sample(std::string(name) + "_sum", labels, sum_seconds());
  out.sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace ota::telemetry
