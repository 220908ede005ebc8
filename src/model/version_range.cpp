#include "model/version_range.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <system_error>

namespace ota::model {
namespace {

constexpr size_t kMaxParts = 4;
constexpr size_t kMaxDigits = 9;
constexpr uint32_t kMaxPart = 999'999'999;  // the largest 9-digit component
constexpr size_t kMaxRangeBytes = 128;
constexpr size_t kMaxComparators = 8;

constexpr std::string_view kVersionHint = "use 1 to 4 dot-separated numbers of at most 9 digits each, e.g. \"3.4.0\"";
constexpr std::string_view kOperatorHint = "use one of >=, <=, >, <, =, ==";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Quotes user input for a message; bytes that are not printable ASCII are shown as \xNN so a
// message never carries raw control or invalid UTF-8 bytes into logs or JSON.
std::string quote(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// A version padded to four components: the domain is exactly these tuples with every component in
// [0, kMaxPart], totally ordered lexicographically, so every version has a unique successor and
// predecessor (except the ends). That makes the "can never match" check exact (">3 <3.0.0.1" is
// empty) without enumerating anything.
using Point = std::array<uint32_t, kMaxParts>;

Point to_point(const Version& v) {
  Point p{};
  for (size_t i = 0; i < kMaxParts && i < v.parts.size(); ++i) p[i] = v.parts[i];
  return p;
}

bool successor(Point& p) {
  for (size_t i = kMaxParts; i-- > 0;) {
    if (p[i] < kMaxPart) {
      ++p[i];
      return true;
    }
    p[i] = 0;
  }
  return false;
}

bool predecessor(Point& p) {
  for (size_t i = kMaxParts; i-- > 0;) {
    if (p[i] > 0) {
      --p[i];
      return true;
    }
    p[i] = kMaxPart;
  }
  return false;
}

bool is_operator_char(char c) {
  // Everything someone might try as an operator, so "=>", "!=", "~" and "^" get an operator
  // message rather than "not a version".
  return c == '<' || c == '>' || c == '=' || c == '!' || c == '~' || c == '^';
}

bool is_everything(std::string_view token) { return token == "*" || token == "x"; }

bool is_wildcard(std::string_view token) {
  if (is_everything(token)) return true;
  return token.size() >= 2 && token[token.size() - 2] == '.' && (token.back() == 'x' || token.back() == '*');
}

// A wildcard written without an operator; ">=3.x" is a comparator with a bad version instead.
bool is_bare_wildcard(std::string_view token) {
  return !token.empty() && !is_operator_char(token[0]) && is_wildcard(token);
}

}  // namespace

bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }

std::strong_ordering operator<=>(const Version& a, const Version& b) {
  // Any number of parts (even none, for a hand-built Version), so comparison is total.
  const size_t n = std::max(a.parts.size(), b.parts.size());
  for (size_t i = 0; i < n; ++i) {
    const uint32_t x = i < a.parts.size() ? a.parts[i] : 0;
    const uint32_t y = i < b.parts.size() ? b.parts[i] : 0;
    if (x != y) return x <=> y;
  }
  return std::strong_ordering::equal;
}

std::string Version::str() const {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.push_back('.');
    out += std::to_string(parts[i]);
  }
  return out;
}

std::optional<Version> parse_version(std::string_view text) {
  Version v;
  size_t i = 0;
  while (true) {
    if (v.parts.size() == kMaxParts) return std::nullopt;  // a fifth component
    const size_t start = i;
    // Stops one past the limit, so a megabyte of digits costs ten steps, not a million.
    while (i < text.size() && i - start <= kMaxDigits && is_digit(text[i])) ++i;
    const size_t digits = i - start;
    if (digits == 0 || digits > kMaxDigits) return std::nullopt;
    uint32_t part = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, part);
    if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;  // cannot happen at 9 digits
    v.parts.push_back(part);
    if (i == text.size()) return v;
    if (text[i] != '.') return std::nullopt;
    ++i;  // past '.'; a trailing '.' then fails on zero digits
  }
}

Result<VersionRange> VersionRange::parse(std::string_view text) {
  // Cheap whole-input checks first: they bound all later work to 128 printable bytes.
  if (text.size() > kMaxRangeBytes) {
    return invalid_argument("version range is " + std::to_string(text.size()) + " bytes; at most " +
                            std::to_string(kMaxRangeBytes) + " are allowed");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_control(text[i])) {
      // Only the offending byte is quoted: echoing the input would carry up to 4x its size.
      return invalid_argument("version range contains control character " + quote(text.substr(i, 1)) + " at byte " +
                              std::to_string(i) + "; separate comparators with spaces only, e.g. \">=3.4.0 <3.5.0\"");
    }
  }

  std::vector<std::string_view> tokens;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    tokens.push_back(text.substr(start, i - start));
  }
  if (tokens.empty()) {
    return invalid_argument(
        "version range is empty; use \"*\" for every version, a version such as \"3.4.0\", or comparators such "
        "as \">=3.4.0 <3.5.0\"");
  }
  if (tokens.size() > kMaxComparators) {
    return invalid_argument("version range " + quote(text) + " has " + std::to_string(tokens.size()) +
                            " comparators; at most " + std::to_string(kMaxComparators) + " are allowed");
  }

  VersionRange range;
  range.text_.clear();  // a default range reads "*"; parsing builds the canonical text from nothing

  // A wildcard is the whole range: "3.x >=3.2" is more likely a mistake than an intersection.
  for (std::string_view token : tokens) {
    if (!is_bare_wildcard(token) || tokens.size() == 1) continue;
    return invalid_argument("wildcard " + quote(token) + " cannot be combined with other comparators in " +
                            quote(text) + "; write it alone, or write its bounds as comparators, e.g. \">=3 <4\"");
  }
  if (tokens.size() == 1 && is_bare_wildcard(tokens[0])) {
    const std::string_view token = tokens[0];
    if (is_everything(token)) {
      range.text_ = "*";
      return range;
    }
    const std::string_view prefix = token.substr(0, token.size() - 2);
    std::optional<Version> low = parse_version(prefix);
    if (!low) {
      return invalid_argument("wildcard " + quote(token) + " is not valid; put 1 to 3 numbers before \".x\", e.g. " +
                              "\"3.x\" or \"3.4.x\"");
    }
    if (low->parts.size() >= kMaxParts) {
      return invalid_argument("wildcard " + quote(token) + " has too many components; put at most 3 numbers " +
                              "before \".x\", e.g. \"3.4.5.x\"");
    }
    Version high = *low;
    range.bounds_.push_back({Bound::Op::kGe, std::move(*low)});
    // "999999999.x" has no upper bound: no version's component can exceed 9 digits, and a
    // 10-digit bound would make the canonical text unparseable.
    if (high.parts.back() < kMaxPart) {
      ++high.parts.back();
      range.bounds_.push_back({Bound::Op::kLt, std::move(high)});
    }
  } else {
    for (std::string_view token : tokens) {
      size_t op_len = 0;
      while (op_len < token.size() && is_operator_char(token[op_len])) ++op_len;
      const std::string_view op = token.substr(0, op_len);
      const std::string_view rest = token.substr(op_len);
      Bound::Op bound_op = Bound::Op::kEq;  // also for no operator: a bare version is exact
      if (op == ">=") {
        bound_op = Bound::Op::kGe;
      } else if (op == "<=") {
        bound_op = Bound::Op::kLe;
      } else if (op == ">") {
        bound_op = Bound::Op::kGt;
      } else if (op == "<") {
        bound_op = Bound::Op::kLt;
      } else if (!op.empty() && op != "=" && op != "==") {
        return invalid_argument("unknown operator " + quote(op) + " in " + quote(token) + "; " +
                                std::string(kOperatorHint));
      }
      if (rest.empty()) {
        return invalid_argument("operator " + quote(op) + " has no version; write the version right after it, " +
                                "without a space, e.g. \">=3.4.0\"");
      }
      if (is_wildcard(rest)) {
        return invalid_argument("wildcard " + quote(rest) + " cannot take an operator in " + quote(token) +
                                "; write the wildcard alone, e.g. \"3.4.x\", or comparators, e.g. \">=3.4 <3.5\"");
      }
      std::optional<Version> version = parse_version(rest);
      if (!version) {
        return invalid_argument(quote(rest) + (op.empty() ? std::string() : " in " + quote(token)) +
                                " is not a version; " + std::string(kVersionHint));
      }
      range.bounds_.push_back({bound_op, std::move(*version)});
    }

    // Intersect all comparators into [low, high] over the discrete domain; empty means a typo.
    Point low{};
    Point high{kMaxPart, kMaxPart, kMaxPart, kMaxPart};
    bool empty = false;
    for (const Bound& b : range.bounds_) {
      Point p = to_point(b.version);
      switch (b.op) {
        case Bound::Op::kEq:
          low = std::max(low, p);
          high = std::min(high, p);
          break;
        case Bound::Op::kGe:
          low = std::max(low, p);
          break;
        case Bound::Op::kLe:
          high = std::min(high, p);
          break;
        case Bound::Op::kGt:
          if (successor(p)) {
            low = std::max(low, p);
          } else {
            empty = true;  // nothing is above the largest version
          }
          break;
        case Bound::Op::kLt:
          if (predecessor(p)) {
            high = std::min(high, p);
          } else {
            empty = true;  // nothing is below 0
          }
          break;
      }
    }
    if (empty || low > high) {
      return invalid_argument("version range " + quote(text) +
                              " can never match: no version satisfies all its comparators; check that lower "
                              "bounds (>, >=) are below upper bounds (<, <=) and exact versions lie between them");
    }
  }

  for (const Bound& b : range.bounds_) {
    if (!range.text_.empty()) range.text_.push_back(' ');
    switch (b.op) {
      case Bound::Op::kEq:
        range.text_ += "=";
        break;
      case Bound::Op::kLt:
        range.text_ += "<";
        break;
      case Bound::Op::kLe:
        range.text_ += "<=";
        break;
      case Bound::Op::kGt:
        range.text_ += ">";
        break;
      case Bound::Op::kGe:
        range.text_ += ">=";
        break;
    }
    range.text_ += b.version.str();
  }
  // Bare versions gain an "=" (up to 8 bytes), so 128 bytes of input can become more. Refusing
  // here keeps the promise that text() always parses again (what is stored must load).
  if (range.text_.size() > kMaxRangeBytes) {
    return invalid_argument("version range " + quote(text) + " is " + std::to_string(range.text_.size()) +
                            " bytes when written canonically as " + quote(range.text_) + "; at most " +
                            std::to_string(kMaxRangeBytes) + " are allowed: drop redundant comparators");
  }
  return range;
}

bool VersionRange::contains(const Version& v) const {
  for (const Bound& b : bounds_) {
    const std::strong_ordering c = v <=> b.version;
    bool ok = false;
    switch (b.op) {
      case Bound::Op::kEq:
        ok = c == 0;
        break;
      case Bound::Op::kLt:
        ok = c < 0;
        break;
      case Bound::Op::kLe:
        ok = c <= 0;
        break;
      case Bound::Op::kGt:
        ok = c > 0;
        break;
      case Bound::Op::kGe:
        ok = c >= 0;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace ota::model
