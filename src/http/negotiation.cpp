#include "http/negotiation.h"

#include <algorithm>
#include <ctime>

#include "common/strings.h"

namespace ota::http {
namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// ---- Accept-Encoding ----------------------------------------------------------------------------

// Quality in thousandths (RFC 9110 §12.4.2 allows three decimals), so comparisons are exact.
constexpr int kQualityOne = 1000;

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
std::optional<int> parse_qvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  int q = (s[0] - '0') * kQualityOne;
  if (s.size() == 1) return q;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  int scale = 100;
  for (size_t i = 2; i < s.size(); ++i, scale /= 10) {
    if (!is_digit(s[i])) return std::nullopt;
    q += (s[i] - '0') * scale;
  }
  if (q > kQualityOne) return std::nullopt;
  return q;
}

// One element of Accept-Encoding: a coding with its weight. Parameters other than a well-formed
// q are ignored; an element that does not start with a token is skipped.
struct CodingEntry {
  std::string_view coding;
  int q = kQualityOne;
};

std::optional<CodingEntry> parse_coding_element(std::string_view e) {
  e = trim(e);
  size_t pos = 0;
  while (pos < e.size() && is_tchar(e[pos])) ++pos;
  CodingEntry entry;
  entry.coding = e.substr(0, pos);
  if (entry.coding.empty()) return std::nullopt;
  // Codings take no quoted parameters, so splitting on ';' is safe here.
  std::string_view rest = e.substr(pos);
  if (!trim(rest).empty() && trim(rest)[0] != ';') return std::nullopt;
  for (std::string_view param : split(rest, ';')) {
    param = trim(param);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!iequals(trim(param.substr(0, eq)), "q")) continue;
    if (auto q = parse_qvalue(trim(param.substr(eq + 1)))) entry.q = *q;
  }
  return entry;
}

// The weight the header gives one coding: listed explicitly, else through "*"; -1 if neither.
// Duplicates give the highest weight.
struct Weight {
  int q = -1;
  void offer(int v) { q = std::max(q, v); }
};

// ---- Range ---------------------------------------------------------------------------------------

constexpr size_t kMaxRangeHeader = 256;

// Digits only; saturates instead of overflowing (a position past any size means the same thing).
std::optional<uint64_t> parse_position(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) {
      v = UINT64_MAX;
    } else {
      v = v * 10 + d;
    }
  }
  return v;
}

// ---- Dates ---------------------------------------------------------------------------------------

constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view kShortDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::string_view kLongDays[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

bool is_short_day(std::string_view s) {
  return std::find(std::begin(kShortDays), std::end(kShortDays), s) != std::end(kShortDays);
}
bool is_long_day(std::string_view s) {
  return std::find(std::begin(kLongDays), std::end(kLongDays), s) != std::end(kLongDays);
}

// 0-based month, or -1. Case-sensitive, as RFC 9110 §5.6.7 defines them.
int month_index(std::string_view s) {
  for (int i = 0; i < 12; ++i) {
    if (kMonths[i] == s) return i;
  }
  return -1;
}

// Exactly `n` digits.
std::optional<int> digits(std::string_view s, size_t n) {
  if (s.size() != n) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct DateParts {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// "HH:MM:SS"
bool parse_time_of_day(std::string_view s, DateParts& d) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  auto h = digits(s.substr(0, 2), 2), m = digits(s.substr(3, 2), 2), sec = digits(s.substr(6, 2), 2);
  if (!h || !m || !sec) return false;
  d.hour = *h;
  d.minute = *m;
  d.second = *sec;
  return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool valid(const DateParts& d) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d.month < 0 || d.month > 11 || d.day < 1) return false;
  int max_day = kDays[d.month] + (d.month == 1 && is_leap(d.year) ? 1 : 0);
  // Second 60 is a leap second (RFC 9110 allows it); timegm rolls it into the next minute.
  return d.day <= max_day && d.hour <= 23 && d.minute <= 59 && d.second <= 60;
}

std::optional<int64_t> to_millis(const DateParts& d) {
  if (!valid(d)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = d.year - 1900;
  tm.tm_mon = d.month;
  tm.tm_mday = d.day;
  tm.tm_hour = d.hour;
  tm.tm_min = d.minute;
  tm.tm_sec = d.second;
  time_t t = timegm(&tm);
  return static_cast<int64_t>(t) * 1000;
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<int64_t> parse_imf_fixdate(std::string_view s) {
  if (s.size() != 29 || s.substr(3, 2) != ", " || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s.substr(25) != " GMT") {
    return std::nullopt;
  }
  if (!is_short_day(s.substr(0, 3))) return std::nullopt;
  DateParts d;
  auto day = digits(s.substr(5, 2), 2), year = digits(s.substr(12, 4), 4);
  d.month = month_index(s.substr(8, 3));
  if (!day || !year || !parse_time_of_day(s.substr(17, 8), d)) return std::nullopt;
  d.day = *day;
  d.year = *year;
  return to_millis(d);
}

// A two-digit year more than 50 years in the future is the most recent past year with those
// digits (RFC 9110 §5.6.7).
int expand_two_digit_year(int yy) {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  int current = tm.tm_year + 1900;
  int year = current - current % 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

// RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<int64_t> parse_rfc850(std::string_view s) {
  size_t comma = s.find(',');
  if (comma == std::string_view::npos || !is_long_day(s.substr(0, comma))) return std::nullopt;
  s = s.substr(comma);
  // ", 06-Nov-94 08:49:37 GMT"
  if (s.size() != 24 || s.substr(0, 2) != ", " || s[4] != '-' || s[8] != '-' || s[11] != ' ' ||
      s.substr(20) != " GMT") {
    return std::nullopt;
  }
  DateParts d;
  auto day = digits(s.substr(2, 2), 2), yy = digits(s.substr(9, 2), 2);
  d.month = month_index(s.substr(5, 3));
  if (!day || !yy || !parse_time_of_day(s.substr(12, 8), d)) return std::nullopt;
  d.day = *day;
  d.year = expand_two_digit_year(*yy);
  return to_millis(d);
}

// asctime: "Sun Nov  6 08:49:37 1994" (the day is space-padded)
std::optional<int64_t> parse_asctime(std::string_view s) {
  if (s.size() != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ') {
    return std::nullopt;
  }
  if (!is_short_day(s.substr(0, 3))) return std::nullopt;
  DateParts d;
  d.month = month_index(s.substr(4, 3));
  std::optional<int> day;
  if (s[8] == ' ') {
    day = digits(s.substr(9, 1), 1);
  } else {
    day = digits(s.substr(8, 2), 2);
  }
  auto year = digits(s.substr(20, 4), 4);
  if (!day || !year || !parse_time_of_day(s.substr(11, 8), d)) return std::nullopt;
  d.day = *day;
  d.year = *year;
  return to_millis(d);
}

// Splits off the next entity-tag of an If-None-Match list; false at the end or on a syntax error.
// `pos` is advanced past it. The returned tag keeps its quotes and drops any W/ prefix.
bool next_entity_tag(std::string_view s, size_t& pos, std::string_view& opaque, bool& error) {
  while (pos < s.size() && (is_ows(s[pos]) || s[pos] == ',')) ++pos;
  if (pos >= s.size()) return false;
  if (s.substr(pos, 2) == "W/") pos += 2;
  if (pos >= s.size() || s[pos] != '"') {
    error = true;
    return false;
  }
  size_t close = s.find('"', pos + 1);
  if (close == std::string_view::npos) {
    error = true;
    return false;
  }
  opaque = s.substr(pos, close + 1 - pos);
  pos = close + 1;
  while (pos < s.size() && is_ows(s[pos])) ++pos;
  if (pos < s.size() && s[pos] != ',') {
    error = true;
    return false;
  }
  return true;
}

}  // namespace

std::optional<Coding> choose_coding(std::string_view accept_encoding, bool have_gzip, bool have_br) {
  if (trim(accept_encoding).empty()) return Coding::kIdentity;

  Weight br, gzip, identity, star;
  for (std::string_view element : split(accept_encoding, ',')) {
    auto entry = parse_coding_element(element);
    if (!entry) continue;
    if (iequals(entry->coding, "br")) {
      br.offer(entry->q);
    } else if (iequals(entry->coding, "gzip") || iequals(entry->coding, "x-gzip")) {
      gzip.offer(entry->q);
    } else if (iequals(entry->coding, "identity")) {
      identity.offer(entry->q);
    } else if (entry->coding == "*") {
      star.offer(entry->q);
    }
  }
  // "*" stands for every coding not listed by name.
  int q_br = br.q >= 0 ? br.q : std::max(star.q, 0);
  int q_gzip = gzip.q >= 0 ? gzip.q : std::max(star.q, 0);
  // Identity is acceptable unless excluded by name or by "*;q=0"; left implicit it ranks below any
  // coding the client named (1 thousandth), so "gzip;q=0.5" still gets gzip.
  int q_identity = identity.q >= 0 ? identity.q : (star.q >= 0 ? star.q : 1);

  std::optional<Coding> best;
  int best_q = 0;
  // In order of preference: a later candidate must be strictly better to win a tie.
  auto consider = [&](Coding c, int q, bool available) {
    if (available && q > best_q) {
      best = c;
      best_q = q;
    }
  };
  consider(Coding::kBr, q_br, have_br);
  consider(Coding::kGzip, q_gzip, have_gzip);
  consider(Coding::kIdentity, q_identity, true);
  return best;
}

RangeRequest parse_range(std::string_view header, uint64_t size) {
  RangeRequest ignored;
  ignored.kind = RangeKind::kIgnored;
  if (header.empty()) return {};
  if (header.size() > kMaxRangeHeader) return ignored;

  std::string_view v = trim(header);
  constexpr std::string_view kUnit = "bytes=";
  if (v.size() < kUnit.size() || !iequals(v.substr(0, kUnit.size()), kUnit)) return ignored;
  v.remove_prefix(kUnit.size());

  // range-set = 1#range-spec: empty list elements and OWS around commas are allowed.
  std::string_view spec;
  int specs = 0;
  for (std::string_view element : split(v, ',')) {
    element = trim(element);
    if (element.empty()) continue;
    spec = element;
    ++specs;
  }
  if (specs != 1) return ignored;

  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return ignored;
  std::string_view first_text = spec.substr(0, dash);
  std::string_view last_text = spec.substr(dash + 1);

  RangeRequest out;
  if (first_text.empty()) {
    // suffix-range: the last N bytes
    auto n = parse_position(last_text);
    if (!n) return ignored;
    if (*n == 0 || size == 0) {
      out.kind = RangeKind::kUnsatisfiable;
      return out;
    }
    out.kind = RangeKind::kSingle;
    out.range = {size - std::min(*n, size), size - 1};
    return out;
  }

  auto first = parse_position(first_text);
  if (!first) return ignored;
  uint64_t last = UINT64_MAX;
  if (!last_text.empty()) {
    auto l = parse_position(last_text);
    if (!l || *l < *first) return ignored;  // an invalid int-range makes the header invalid
    last = *l;
  }
  if (*first >= size) {
    out.kind = RangeKind::kUnsatisfiable;
    return out;
  }
  out.kind = RangeKind::kSingle;
  out.range = {*first, std::min(last, size - 1)};
  return out;
}

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
  std::string_view v = trim(if_none_match);
  if (v == "*") return true;
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.empty()) return false;
  // Weak comparison (RFC 9110 §8.8.3.2): opaque tags equal, W/ on either side ignored.
  size_t pos = 0;
  std::string_view opaque;
  bool error = false;
  while (next_entity_tag(v, pos, opaque, error)) {
    if (opaque == etag) return true;
  }
  return false;
}

std::optional<int64_t> parse_http_date(std::string_view value) {
  std::string_view s = trim(value);
  if (s.size() == 29 && s[3] == ',') return parse_imf_fixdate(s);
  if (s.size() == 24 && s[3] == ' ') return parse_asctime(s);
  return parse_rfc850(s);
}

}  // namespace ota::http
