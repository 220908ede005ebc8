// App versions and the targets a hot patch names (issue 5): an exact version, or a range such as
// ">=3.4.0 <3.5.0" or "3.4.x". Pure functions; fuzzed.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ota::model {

// A dotted numeric version as iOS/Android apps report it (CFBundleShortVersionString /
// versionName): 1 to 4 components of decimal digits, each at most 9 digits ("3.4.0", "3", "10.2").
// Missing trailing components compare as 0 ("3.4" == "3.4.0"). No pre-release tags.
struct Version {
  std::vector<uint32_t> parts;  // at least one, at most four
  friend bool operator==(const Version& a, const Version& b);
  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  std::string str() const;
};

std::optional<Version> parse_version(std::string_view text);

// A set of versions. Grammar (whitespace separates comparators, all must hold):
//   range      := "*" | comparator ( " "+ comparator )*  | wildcard
//   comparator := op? version            op ::= ">=" | "<=" | ">" | "<" | "=" | "=="
//   wildcard   := N ".x" | N "." N ".x" | N "." N "." N ".x"  (also "*" for x)   e.g. "3.4.x"
// A bare version means exactly that version. At most 8 comparators, 128 bytes.
class VersionRange {
 public:
  // kInvalidArgument with a message naming the offending part, e.g. ">=2.0 <1.0 can never match".
  static Result<VersionRange> parse(std::string_view text);

  bool contains(const Version& v) const;
  // The canonical text ("" never; "*" for everything): what gets stored and shown.
  const std::string& text() const { return text_; }

 private:
  struct Bound {
    enum class Op { kEq, kLt, kLe, kGt, kGe } op;
    Version version;
  };
  std::vector<Bound> bounds_;  // empty: every version
  std::string text_ = "*";
};

}  // namespace ota::model
