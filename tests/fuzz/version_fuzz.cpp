// App versions and version ranges (model/version_range.cpp): what a patch targets (">=3.4.0 <3.5.0",
// "3.4.x") and what devices report. Input: a range on the first line, then up to three versions,
// one per line. Properties:
//   - a parsed version prints (str) to text that parses to an equal version;
//   - comparison is a total order: antisymmetric and transitive on parsed triples;
//   - a parsed range's canonical text is at most 128 bytes and parses to the same canonical text
//     and the same membership (what is stored must load);
//   - contains(v) is exactly "every comparator of the canonical text holds" (checked by an
//     evaluator written here);
//   - a parsed range is satisfiable (the parser refuses ranges that can never match), so one of
//     the candidate witnesses (0, each bound, each bound's successor) is inside.

#include <array>
#include <string>
#include <vector>

#include "common/strings.h"
#include "fuzz_support.h"
#include "model/version_range.h"

namespace {

using ota::model::parse_version;
using ota::model::Version;
using ota::model::VersionRange;

constexpr uint32_t kMaxPart = 999'999'999;

struct Comparator {
  std::string op;
  Version version;
};

// The canonical text: comparators "op" + version separated by one space, or "*".
std::vector<Comparator> comparators(const std::string& text) {
  std::vector<Comparator> out;
  if (text == "*") return out;
  for (std::string_view token : ota::split(text, ' ')) {
    size_t n = 0;
    while (n < token.size() && (token[n] == '<' || token[n] == '>' || token[n] == '=')) ++n;
    auto v = parse_version(token.substr(n));
    FUZZ_CHECK(n > 0 && v.has_value());  // canonical comparators always carry an operator
    out.push_back({std::string(token.substr(0, n)), *v});
  }
  return out;
}

bool holds(const Comparator& c, const Version& v) {
  if (c.op == "=") return v == c.version;
  if (c.op == "<") return v < c.version;
  if (c.op == "<=") return v <= c.version;
  if (c.op == ">") return v > c.version;
  if (c.op == ">=") return v >= c.version;
  FUZZ_CHECK(false && "unknown operator in canonical text");
  return false;
}

Version successor(Version v) {
  v.parts.resize(4, 0);
  for (size_t i = 4; i-- > 0;) {
    if (v.parts[i] < kMaxPart) {
      ++v.parts[i];
      return v;
    }
    v.parts[i] = 0;
  }
  return Version{{kMaxPart, kMaxPart, kMaxPart, kMaxPart}};
}

void check_version_text(const std::string& text) {
  auto v = parse_version(text);
  if (!v) return;
  FUZZ_CHECK(!v->parts.empty() && v->parts.size() <= 4);
  for (uint32_t p : v->parts) FUZZ_CHECK(p <= kMaxPart);
  auto again = parse_version(v->str());
  FUZZ_CHECK(again && *again == *v && again->str() == v->str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 4);
  const std::string range_text(f[0]);
  const std::array<std::string, 3> texts = {std::string(f[1]), std::string(f[2]), std::string(f[3])};

  std::vector<Version> versions;
  for (const auto& t : texts) {
    check_version_text(t);
    if (auto v = parse_version(t)) versions.push_back(*v);
  }
  check_version_text(range_text);

  // A total order: antisymmetric and transitive, and == agrees with <=>.
  for (const auto& a : versions) {
    for (const auto& b : versions) {
      FUZZ_CHECK((a == b) == ((a <=> b) == 0));
      if (a <= b && b <= a) FUZZ_CHECK(a == b);
      for (const auto& c : versions) {
        if (a <= b && b <= c) FUZZ_CHECK(a <= c);
      }
    }
  }

  auto range = VersionRange::parse(range_text);
  if (!range) {
    FUZZ_CHECK(range.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  const std::string& canonical = range->text();
  FUZZ_CHECK(!canonical.empty() && canonical.size() <= 128);
  auto again = VersionRange::parse(canonical);
  FUZZ_CHECK(again && again->text() == canonical);

  const std::vector<Comparator> bounds = comparators(canonical);
  std::vector<Version> witnesses = {Version{{0}}};
  for (const auto& b : bounds) {
    witnesses.push_back(b.version);
    witnesses.push_back(successor(b.version));
  }
  bool satisfiable = false;
  for (const auto& v : witnesses) satisfiable = satisfiable || range->contains(v);
  FUZZ_CHECK(satisfiable);

  witnesses.insert(witnesses.end(), versions.begin(), versions.end());
  for (const auto& v : witnesses) {
    bool all = true;
    for (const auto& b : bounds) all = all && holds(b, v);
    FUZZ_CHECK(range->contains(v) == all);
    FUZZ_CHECK(again->contains(v) == all);
  }
  return 0;
}
