#include "support/prometheus_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace ota::testing {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_metric_char(char c, bool first) { return is_alpha(c) || c == '_' || c == ':' || (!first && is_digit(c)); }
bool is_label_char(char c, bool first) { return is_alpha(c) || c == '_' || (!first && is_digit(c)); }

size_t skip_blanks(std::string_view s, size_t i) {
  while (i < s.size() && is_blank(s[i])) ++i;
  return i;
}

size_t token_end(std::string_view s, size_t i) {
  while (i < s.size() && !is_blank(s[i])) ++i;
  return i;
}

// Deliberately not shared with src/telemetry: the checker must not inherit the writer's mistakes.
bool is_valid_utf8(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xBF) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  size_t i = 0;
  while (i < s.size()) {
    unsigned c = byte(i);
    size_t n = 0;
    if (c < 0x80) {
      n = 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = cont(i + 1) ? 2 : 0;
    } else if (c == 0xE0) {
      n = cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
    } else if (c == 0xED) {
      n = cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
    } else if (c >= 0xE1 && c <= 0xEF) {
      n = cont(i + 1) && cont(i + 2) ? 3 : 0;
    } else if (c == 0xF0) {
      n = cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    } else if (c == 0xF4) {
      n = cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    } else if (c >= 0xF1 && c <= 0xF3) {
      n = cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

// What Go's strconv.ParseFloat accepts in base 10 (the scraper uses it): an optional sign, digits
// with an optional point and exponent, "Inf"/"Infinity" in any case and with an optional sign, "NaN"
// in any case. Hex floats and underscores, which Go also takes, are refused: no writer emits them.
std::optional<double> parse_float(std::string_view s) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string word = lower(body);
  if (word == "inf" || word == "infinity") {
    return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (word == "nan" && body.size() == s.size()) return std::numeric_limits<double>::quiet_NaN();
  size_t i = 0;
  size_t digits = 0;
  while (i < body.size() && is_digit(body[i])) ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && is_digit(body[i])) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    size_t exponent_start = i;
    while (i < body.size() && is_digit(body[i])) ++i;
    if (i == exponent_start) return std::nullopt;
  }
  if (i != body.size()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), value);
  if (ec != std::errc() || end != body.data() + body.size()) return std::nullopt;  // e.g. 1e999
  return negative ? -value : value;
}

std::optional<int64_t> parse_int64(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

const std::string* find_label(const PromSample& s, std::string_view name) {
  for (const auto& [k, v] : s.labels) {
    if (k == name) return &v;
  }
  return nullptr;
}

// Name and labels in a canonical order, leaving out `skip` (le or quantile): identifies a series.
std::string series_key(std::string_view name, const PromSample& s, std::string_view skip = {}) {
  auto labels = s.labels;
  std::sort(labels.begin(), labels.end());
  std::string key(name);
  for (const auto& [k, v] : labels) {
    if (k == skip) continue;
    key += '\x01';
    key += k;
    key += '\x02';
    key += v;
  }
  return key;
}

std::string describe(const PromSample& s) {
  std::string out = s.name + "{";
  for (size_t i = 0; i < s.labels.size(); ++i) {
    out += (i ? "," : "") + s.labels[i].first + "=\"" + s.labels[i].second + "\"";
  }
  return out + "}";
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "?";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  ParsedMetrics run() {
    size_t pos = 0;
    while (pos < text_.size() && out_.ok()) {
      size_t newline = text_.find('\n', pos);
      std::string_view line = text_.substr(pos, newline == std::string_view::npos ? newline : newline - pos);
      lines_.push_back(line);
      if (newline == std::string_view::npos) {
        fail("the text must end with a newline (the last line is not terminated)");
        break;
      }
      pos = newline + 1;
      read_line(line);
    }
    for (const auto& family : out_.families) {
      if (!out_.ok()) break;
      if (family.type == "histogram") check_histogram(family);
      if (family.type == "summary") check_summary(family);
    }
    if (!out_.ok()) out_.families.clear();
    return std::move(out_);
  }

 private:
  int line_no() const { return static_cast<int>(lines_.size()); }

  // Records the first error only; returns false so callers can `return fail(...)`.
  bool fail(const std::string& message) { return fail_at(line_no(), message); }
  bool fail_at(int line, const std::string& message) {
    if (!out_.ok()) return false;
    std::string_view text = lines_[static_cast<size_t>(line - 1)];
    if (text.size() > 200) text = text.substr(0, 200);
    out_.error = "line " + std::to_string(line) + ": " + message + ": " + std::string(text);
    return false;
  }

  void read_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
      fail("line ends with \\r\\n; the format separates lines with \\n alone");
      return;
    }
    size_t i = skip_blanks(line, 0);
    if (i == line.size()) return;  // blank lines are allowed
    if (line[i] == '#') {
      read_comment(line.substr(i + 1));
    } else {
      read_sample(line.substr(i));
    }
  }

  // ---- # HELP and # TYPE -------------------------------------------------------------------------

  bool read_comment(std::string_view rest) {
    size_t i = skip_blanks(rest, 0);
    size_t end = token_end(rest, i);
    std::string_view keyword = rest.substr(i, end - i);
    if (keyword != "HELP" && keyword != "TYPE") return true;  // any other comment is ignored
    i = skip_blanks(rest, end);
    size_t name_end = i;
    while (name_end < rest.size() && is_metric_char(rest[name_end], name_end == i)) ++name_end;
    if (name_end == i || (name_end < rest.size() && !is_blank(rest[name_end]))) {
      return fail("# " + std::string(keyword) + " needs a valid metric name");
    }
    std::string name(rest.substr(i, name_end - i));
    auto index = declare(name, keyword);
    if (!index) return false;
    PromFamily& family = out_.families[*index];
    i = skip_blanks(rest, name_end);

    if (keyword == "HELP") {
      if (family.help) return fail("second # HELP line for " + name);
      std::string help;
      for (; i < rest.size(); ++i) {
        if (rest[i] != '\\') {
          help += rest[i];
          continue;
        }
        char escaped = ++i < rest.size() ? rest[i] : '\0';
        if (escaped == '\\') {
          help += '\\';
        } else if (escaped == 'n') {
          help += '\n';
        } else {
          return fail("invalid escape sequence in HELP text (only \\\\ and \\n are allowed)");
        }
      }
      family.help = std::move(help);
      return true;
    }

    if (!family.type.empty()) return fail("second # TYPE line for " + name);
    end = token_end(rest, i);
    std::string type(rest.substr(i, end - i));
    if (skip_blanks(rest, end) != rest.size()) return fail("unexpected text after the type");
    static const std::set<std::string, std::less<>> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
    if (!kTypes.contains(type)) return fail("unknown metric type \"" + type + "\"");
    bool total = name.ends_with("_total");
    if (type == "counter" && !total) return fail("counter " + name + " must be named *_total");
    if (type != "counter" && total) return fail("only counters may be named *_total, " + name + " is a " + type);
    family.type = type;

    std::vector<std::string> sample_names;
    if (type == "histogram") {
      sample_names = {name + "_bucket", name + "_sum", name + "_count"};
    } else if (type == "summary") {
      sample_names = {name, name + "_sum", name + "_count"};
    } else {
      sample_names = {name};
    }
    for (const auto& sample_name : sample_names) {
      auto claimed = claims_.find(sample_name);
      auto named = by_name_.find(sample_name);
      if ((claimed != claims_.end() && claimed->second != *index) ||
          (named != by_name_.end() && named->second != *index)) {
        size_t other = claimed != claims_.end() ? claimed->second : named->second;
        return fail(name + "'s samples would be named " + sample_name + ", which belongs to family " +
                    out_.families[other].name);
      }
      claims_[sample_name] = *index;
    }
    return true;
  }

  // The family a HELP or TYPE line describes, created on first mention.
  std::optional<size_t> declare(const std::string& name, std::string_view keyword) {
    auto claimed = claims_.find(name);
    if (claimed != claims_.end() && out_.families[claimed->second].name != name) {
      fail("# " + std::string(keyword) + " for " + name + ", which is a sample name of " +
           out_.families[claimed->second].type + " " + out_.families[claimed->second].name);
      return std::nullopt;
    }
    auto [it, inserted] = by_name_.try_emplace(name, out_.families.size());
    if (inserted) {
      out_.families.push_back(PromFamily{.name = name, .type = {}, .help = {}, .samples = {}});
      closed_.push_back(false);
    }
    if (!enter(it->second, "# " + std::string(keyword) + " for " + name)) return std::nullopt;
    if (!out_.families[it->second].samples.empty()) {
      fail("# " + std::string(keyword) + " for " + name + " after its samples (HELP and TYPE come first)");
      return std::nullopt;
    }
    return it->second;
  }

  // All lines of a family form one group: once another family's line appears, it is closed.
  bool enter(size_t index, const std::string& what) {
    if (closed_[index]) {
      return fail(what + ": the lines of family " + out_.families[index].name +
                  " must form one group, but another family's lines came in between");
    }
    if (current_ && *current_ != index) closed_[*current_] = true;
    current_ = index;
    return true;
  }

  // ---- samples -----------------------------------------------------------------------------------

  bool read_sample(std::string_view line) {
    PromSample sample;
    sample.line = line_no();
    size_t i = 0;
    while (i < line.size() && is_metric_char(line[i], i == 0)) ++i;
    if (i == 0) return fail("a sample line must start with a valid metric name");
    sample.name = std::string(line.substr(0, i));
    size_t after_name = skip_blanks(line, i);
    if (after_name < line.size() && line[after_name] == '{') {
      i = after_name;
      if (!read_labels(line, i, sample)) return false;
    }
    if (i >= line.size() || !is_blank(line[i])) {
      return fail(skip_blanks(line, i) >= line.size() ? "sample has no value" : "expected a space before the value");
    }
    i = skip_blanks(line, i);
    size_t end = token_end(line, i);
    auto value = parse_float(line.substr(i, end - i));
    if (!value) return fail("value \"" + std::string(line.substr(i, end - i)) + "\" is not a float");
    sample.value = *value;
    i = skip_blanks(line, end);
    if (i < line.size()) {
      end = token_end(line, i);
      sample.timestamp_ms = parse_int64(line.substr(i, end - i));
      if (!sample.timestamp_ms) return fail("timestamp is not an integer (milliseconds)");
      if (skip_blanks(line, end) != line.size()) return fail("unexpected text after the timestamp");
    }

    auto claimed = claims_.find(sample.name);
    if (claimed == claims_.end()) {
      auto named = by_name_.find(sample.name);
      if (named != by_name_.end() && !out_.families[named->second].type.empty()) {
        return fail(out_.families[named->second].type + " " + sample.name +
                    " has no samples of its own name; write its _bucket/_sum/_count series");
      }
      return fail("sample " + sample.name + " has no # TYPE line before it");
    }
    size_t index = claimed->second;
    if (!enter(index, "sample " + sample.name)) return false;
    PromFamily& family = out_.families[index];
    if (!check_sample(family, sample)) return false;

    auto [first, inserted] = series_.try_emplace(series_key(sample.name, sample), sample.line);
    if (!inserted) {
      return fail("duplicate series " + describe(sample) + " (first on line " + std::to_string(first->second) + ")");
    }
    family.samples.push_back(std::move(sample));
    return true;
  }

  // Reads `{name="value",...}` starting at line[i] == '{'; leaves i after the '}'.
  bool read_labels(std::string_view line, size_t& i, PromSample& sample) {
    ++i;
    for (;;) {
      i = skip_blanks(line, i);
      if (i >= line.size()) return fail("unterminated label set");
      if (line[i] == '}') break;  // also after a trailing comma, as Go accepts
      size_t start = i;
      while (i < line.size() && is_label_char(line[i], i == start)) ++i;
      if (i == start) return fail("invalid label name at column " + std::to_string(start + 1));
      std::string name(line.substr(start, i - start));
      if (name.starts_with("__")) return fail("label name " + name + " is reserved (leading __)");
      if (find_label(sample, name)) return fail("label " + name + " appears twice");
      i = skip_blanks(line, i);
      if (i >= line.size() || line[i] != '=') return fail("expected = after label name " + name);
      i = skip_blanks(line, i + 1);
      if (i >= line.size() || line[i] != '"') return fail("value of label " + name + " must be in double quotes");
      ++i;
      std::string value;
      bool terminated = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '"') {
          terminated = true;
          break;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        if (i >= line.size()) break;
        char escaped = line[i++];
        if (escaped == '\\' || escaped == '"') {
          value += escaped;
        } else if (escaped == 'n') {
          value += '\n';
        } else {
          return fail("invalid escape sequence \\" + std::string(1, escaped) + " in value of label " + name +
                      " (only \\\\, \\\" and \\n are allowed)");
        }
      }
      if (!terminated) return fail("unterminated value of label " + name);
      if (!is_valid_utf8(value)) return fail("value of label " + name + " is not valid UTF-8");
      sample.labels.emplace_back(std::move(name), std::move(value));
      i = skip_blanks(line, i);
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        return fail("expected , or } after the value of label " + sample.labels.back().first);
      }
    }
    ++i;
    return true;
  }

  // What can be checked on one sample of its family; cross-sample rules come in check_histogram.
  bool check_sample(const PromFamily& family, const PromSample& sample) {
    const std::string& base = family.name;
    if (family.type == "counter" && !(sample.value >= 0)) {
      return fail("counter " + sample.name + " is " + number(sample.value) + "; counters are >= 0");
    }
    if (family.type == "histogram") {
      bool bucket = sample.name == base + "_bucket";
      const std::string* le = find_label(sample, "le");
      if (bucket && !le) return fail("histogram bucket " + sample.name + " has no le label");
      if (!bucket && le) return fail("le label on " + sample.name + "; only _bucket samples have one");
      if (le) {
        auto bound = parse_float(*le);
        if (!bound || std::isnan(*bound)) return fail("le=\"" + *le + "\" is not a number");
      }
      if (sample.name != base + "_sum" && !(sample.value >= 0)) {
        return fail(sample.name + " is " + number(sample.value) + "; histogram counts are >= 0");
      }
    }
    if (family.type == "summary") {
      bool quantile_sample = sample.name == base;
      const std::string* quantile = find_label(sample, "quantile");
      if (quantile_sample && !quantile) return fail("summary sample " + sample.name + " has no quantile label");
      if (!quantile_sample && quantile) return fail("quantile label on " + sample.name);
      if (quantile) {
        auto q = parse_float(*quantile);
        if (!q || !(*q >= 0 && *q <= 1)) return fail("quantile=\"" + *quantile + "\" is not between 0 and 1");
      }
      if (sample.name == base + "_count" && !(sample.value >= 0)) return fail(sample.name + " is negative");
    }
    return true;
  }

  // ---- whole-family rules ------------------------------------------------------------------------

  void check_histogram(const PromFamily& family) {
    struct Series {
      std::vector<std::pair<double, const PromSample*>> buckets;
      const PromSample* count = nullptr;
      const PromSample* sum = nullptr;
      const PromSample* first = nullptr;
    };
    std::map<std::string, Series> by_series;  // keyed without `le`
    for (const auto& s : family.samples) {
      Series& series = by_series[series_key(family.name, s, "le")];
      if (!series.first) series.first = &s;
      if (s.name == family.name + "_bucket") {
        series.buckets.emplace_back(*parse_float(*find_label(s, "le")), &s);
      } else if (s.name == family.name + "_count") {
        series.count = &s;
      } else {
        series.sum = &s;
      }
    }
    for (auto& [key, series] : by_series) {
      const std::string what = "histogram series " + describe(*series.first);
      if (series.buckets.empty()) return static_cast<void>(fail_at(series.first->line, what + " has no buckets"));
      std::stable_sort(series.buckets.begin(), series.buckets.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t k = 1; k < series.buckets.size(); ++k) {
        const auto& [le, bucket] = series.buckets[k];
        const auto& [previous_le, previous] = series.buckets[k - 1];
        if (le == previous_le) {
          return static_cast<void>(fail_at(bucket->line, "second bucket with le=" + number(le) + " (first on line " +
                                                             std::to_string(previous->line) + ")"));
        }
        if (bucket->value < previous->value) {
          return static_cast<void>(fail_at(bucket->line, "bucket le=" + number(le) + " holds " + number(bucket->value) +
                                                             ", less than " + number(previous->value) + " in le=" +
                                                             number(previous_le) + " (buckets are cumulative)"));
        }
      }
      const auto& [last_le, last] = series.buckets.back();
      if (!(std::isinf(last_le) && last_le > 0)) {
        return static_cast<void>(fail_at(last->line, what + " has no le=\"+Inf\" bucket"));
      }
      if (!series.count) return static_cast<void>(fail_at(series.first->line, what + " has no _count"));
      if (series.count->value != last->value) {
        return static_cast<void>(fail_at(
            series.count->line, "_count " + number(series.count->value) + " differs from the le=\"+Inf\" bucket " +
                                    number(last->value) + " on line " + std::to_string(last->line)));
      }
      if (!series.sum) return static_cast<void>(fail_at(series.first->line, what + " has no _sum"));
    }
  }

  void check_summary(const PromFamily& family) {
    std::map<std::string, std::pair<int, const PromSample*>> seen;  // series → (_sum/_count seen bits, first)
    for (const auto& s : family.samples) {
      auto& [bits, first] = seen[series_key(family.name, s, "quantile")];
      if (!first) first = &s;
      if (s.name == family.name + "_sum") bits |= 1;
      if (s.name == family.name + "_count") bits |= 2;
    }
    for (const auto& [key, entry] : seen) {
      if (entry.first != 3) {
        return static_cast<void>(
            fail_at(entry.second->line, "summary series " + describe(*entry.second) + " needs both _sum and _count"));
      }
    }
  }

  std::string_view text_;
  std::vector<std::string_view> lines_;
  ParsedMetrics out_;
  std::map<std::string, size_t, std::less<>> by_name_;  // family name → index in out_.families
  std::map<std::string, size_t, std::less<>> claims_;   // sample name → family (typed families only)
  std::vector<bool> closed_;                            // by family index
  std::optional<size_t> current_;                       // family of the last HELP/TYPE/sample line
  std::map<std::string, int> series_;                   // series key → line first seen
};

bool has_labels(const PromSample& s, PromLabelsView labels) {
  return std::all_of(labels.begin(), labels.end(), [&](const auto& label) {
    const std::string* v = find_label(s, label.first);
    return v && *v == label.second;
  });
}

}  // namespace

ParsedMetrics parse_prometheus_text(std::string_view text) { return Parser(text).run(); }

const PromFamily* ParsedMetrics::family(std::string_view name) const {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::optional<double> ParsedMetrics::value(std::string_view sample_name, PromLabelsView labels) const {
  for (const PromSample* s : samples(sample_name)) {
    if (s->labels.size() == labels.size() && has_labels(*s, labels)) return s->value;
  }
  return std::nullopt;
}

double ParsedMetrics::sum(std::string_view sample_name, PromLabelsView labels) const {
  double total = 0;
  for (const PromSample* s : samples(sample_name)) {
    if (has_labels(*s, labels)) total += s->value;
  }
  return total;
}

std::vector<const PromSample*> ParsedMetrics::samples(std::string_view sample_name) const {
  std::vector<const PromSample*> out;
  for (const auto& f : families) {
    for (const auto& s : f.samples) {
      if (s.name == sample_name) out.push_back(&s);
    }
  }
  return out;
}

}  // namespace ota::testing
