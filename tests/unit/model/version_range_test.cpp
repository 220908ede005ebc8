#include "model/version_range.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <vector>

// Counts allocations so a test can check that contains() does none. Replacing the global
// operator new is the portable way to observe that; it is confined to this test binary.
namespace {
std::atomic<size_t> g_allocations{0};
}  // namespace

void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Out of line, or GCC inlines free() next to a visible `new` and reports a mismatch (-Wmismatched-new-delete).
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace ota::model {
namespace {

Version v(std::string_view text) {
  auto parsed = parse_version(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(Version{{0}});
}

VersionRange range(std::string_view text) {
  auto r = VersionRange::parse(text);
  EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message());
  if (!r) return VersionRange::parse("*").value();
  return std::move(r).value();
}

// The message of a rejected range; fails the test if the range was accepted.
std::string rejection(std::string_view text) {
  auto r = VersionRange::parse(text);
  if (r) {
    ADD_FAILURE() << "accepted " << text << " as " << r->text();
    return {};
  }
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text;
  return r.error().message();
}

// ---- Version -------------------------------------------------------------------------------------

TEST(Version, ParsesOneToFourComponents) {
  EXPECT_EQ(v("3").parts, (std::vector<uint32_t>{3}));
  EXPECT_EQ(v("3.4").parts, (std::vector<uint32_t>{3, 4}));
  EXPECT_EQ(v("3.4.0").parts, (std::vector<uint32_t>{3, 4, 0}));
  EXPECT_EQ(v("10.2.33.4").parts, (std::vector<uint32_t>{10, 2, 33, 4}));
  EXPECT_EQ(v("0").parts, (std::vector<uint32_t>{0}));
}

TEST(Version, LeadingZerosAreTheSameNumber) {
  EXPECT_EQ(v("03").parts, (std::vector<uint32_t>{3}));
  EXPECT_EQ(v("03.4"), v("3.4"));
  EXPECT_EQ(v("03.4").str(), "3.4");
  EXPECT_EQ(v("000000000.0001").str(), "0.1");
}

TEST(Version, StrKeepsTheNumberOfComponents) {
  EXPECT_EQ(v("3.4.0").str(), "3.4.0");
  EXPECT_EQ(v("3").str(), "3");
  EXPECT_EQ(v("999999999.1.2.3").str(), "999999999.1.2.3");
}

TEST(Version, MissingTrailingComponentsCompareAsZero) {
  EXPECT_EQ(v("3.4"), v("3.4.0"));
  EXPECT_EQ(v("3"), v("3.0.0.0"));
  EXPECT_TRUE((v("3.4") <=> v("3.4.0")) == 0);
  EXPECT_LT(v("3.4"), v("3.4.0.1"));
  EXPECT_GT(v("3.4.1"), v("3.4"));
}

TEST(Version, OrdersNumericallyNotAsText) {
  EXPECT_LT(v("3.9"), v("3.10"));
  EXPECT_LT(v("2.99.99"), v("3"));
  EXPECT_GT(v("10.0"), v("9.9.9.9"));
}

TEST(Version, RejectsAnythingButOneToFourDigitComponents) {
  for (std::string_view bad :
       {"",   "3.4.0-beta", "3..4", ".3",  "3.",   "v3", "3.4.0.0.0", "1234567890", "3.1234567890", " 3",       "3 ",
        "+3", "-3",         "3.x",  "3,4", "3.4a", "٣",  "0x10",      ".",          "..",           "3.4.5.6.7"}) {
    EXPECT_FALSE(parse_version(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(Version, NineDigitComponentsAreTheLimit) {
  EXPECT_EQ(v("999999999").parts, (std::vector<uint32_t>{999999999}));
  EXPECT_EQ(v("000000001").parts, (std::vector<uint32_t>{1}));
  EXPECT_FALSE(parse_version("0000000001").has_value());  // 10 digits, even with leading zeros
  EXPECT_FALSE(parse_version("4294967296").has_value());
}

TEST(Version, HandBuiltVersionsCompareTotally) {
  // contains() must be total even for Versions that did not come from parse_version.
  EXPECT_EQ(Version{}, v("0"));
  EXPECT_LT(Version{}, v("0.0.0.1"));
  EXPECT_GT((Version{{1, 0, 0, 0, 1}}), v("1"));
  EXPECT_EQ(Version{}.str(), "");
}

TEST(Version, MegabyteOfDigitsIsRejectedWithoutScanningIt) {
  std::string digits(1 << 20, '7');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(parse_version(digits).has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// ---- VersionRange: matching ----------------------------------------------------------------------

TEST(VersionRange, IssueExampleComparatorRange) {
  VersionRange r = range(">=3.4.0 <3.5.0");
  EXPECT_TRUE(r.contains(v("3.4.0")));
  EXPECT_TRUE(r.contains(v("3.4.9")));
  EXPECT_FALSE(r.contains(v("3.5.0")));
  EXPECT_FALSE(r.contains(v("3.3.9")));
  EXPECT_EQ(r.text(), ">=3.4.0 <3.5.0");
}

TEST(VersionRange, IssueExampleWildcardMatchesTheSameVersions) {
  VersionRange wildcard = range("3.4.x");
  VersionRange explicit_bounds = range(">=3.4.0 <3.5.0");
  EXPECT_TRUE(wildcard.contains(v("3.4.0")));
  EXPECT_TRUE(wildcard.contains(v("3.4.9")));
  EXPECT_FALSE(wildcard.contains(v("3.5.0")));
  EXPECT_FALSE(wildcard.contains(v("3.3.9")));
  for (uint32_t a = 0; a <= 5; ++a) {
    for (uint32_t b = 0; b <= 5; ++b) {
      for (uint32_t c = 0; c <= 5; ++c) {
        Version x{{a, b, c}};
        EXPECT_EQ(wildcard.contains(x), explicit_bounds.contains(x)) << x.str();
      }
    }
  }
}

TEST(VersionRange, WildcardsCoverTheirPrefix) {
  VersionRange major = range("3.x");
  EXPECT_TRUE(major.contains(v("3")));
  EXPECT_TRUE(major.contains(v("3.999.1")));
  EXPECT_FALSE(major.contains(v("4")));
  EXPECT_FALSE(major.contains(v("2.9.9.9")));
  EXPECT_EQ(major.text(), ">=3 <4");

  VersionRange patch = range("3.4.5.x");
  EXPECT_TRUE(patch.contains(v("3.4.5")));
  EXPECT_TRUE(patch.contains(v("3.4.5.7")));
  EXPECT_FALSE(patch.contains(v("3.4.6")));
  EXPECT_FALSE(patch.contains(v("3.4.4.9")));
  EXPECT_EQ(patch.text(), ">=3.4.5 <3.4.6");

  EXPECT_EQ(range("3.*").text(), ">=3 <4");
  EXPECT_EQ(range("3.4.*").text(), ">=3.4 <3.5");
  EXPECT_EQ(range("03.09.x").text(), ">=3.9 <3.10");
}

TEST(VersionRange, WildcardOnTheLargestComponentHasNoUpperBound) {
  // 999999999 + 1 has ten digits, which no version (and so no canonical text) may contain.
  VersionRange r = range("999999999.x");
  EXPECT_EQ(r.text(), ">=999999999");
  EXPECT_TRUE(r.contains(v("999999999.999999999.999999999.999999999")));
  EXPECT_FALSE(r.contains(v("999999998.9")));
  EXPECT_EQ(range("1.999999999.x").text(), ">=1.999999999");
  EXPECT_TRUE(range(r.text()).contains(v("999999999.5")));
}

TEST(VersionRange, StarAndXMatchEverything) {
  for (std::string_view text : {"*", "x", "  *  "}) {
    VersionRange r = range(text);
    EXPECT_EQ(r.text(), "*") << text;
    EXPECT_TRUE(r.contains(v("0")));
    EXPECT_TRUE(r.contains(v("999999999.999999999.999999999.999999999")));
    EXPECT_TRUE(r.contains(Version{}));
  }
}

TEST(VersionRange, BareVersionIsAnExactMatchWithPadding) {
  VersionRange r = range("3.4");
  EXPECT_TRUE(r.contains(v("3.4")));
  EXPECT_TRUE(r.contains(v("3.4.0")));
  EXPECT_TRUE(r.contains(v("3.4.0.0")));
  EXPECT_FALSE(r.contains(v("3.4.0.1")));
  EXPECT_FALSE(r.contains(v("3.4.1")));
  EXPECT_FALSE(r.contains(v("3.3.99")));
  EXPECT_EQ(r.text(), "=3.4");

  VersionRange padded = range("3.4.0");
  EXPECT_TRUE(padded.contains(v("3.4")));
  EXPECT_EQ(padded.text(), "=3.4.0");
}

TEST(VersionRange, EqualsOperatorsMeanTheSameAsABareVersion) {
  for (std::string_view text : {"3.4", "=3.4", "==3.4", "=03.04"}) {
    VersionRange r = range(text);
    EXPECT_EQ(r.text(), "=3.4") << text;
    EXPECT_TRUE(r.contains(v("3.4.0"))) << text;
    EXPECT_FALSE(r.contains(v("3.5"))) << text;
  }
}

TEST(VersionRange, EachOperatorCompares) {
  EXPECT_TRUE(range(">3.4").contains(v("3.4.0.1")));
  EXPECT_FALSE(range(">3.4").contains(v("3.4.0")));
  EXPECT_TRUE(range(">=3.4").contains(v("3.4.0")));
  EXPECT_FALSE(range(">=3.4").contains(v("3.3.9")));
  EXPECT_TRUE(range("<3.4").contains(v("3.3.999")));
  EXPECT_FALSE(range("<3.4").contains(v("3.4.0")));
  EXPECT_TRUE(range("<=3.4").contains(v("3.4.0.0")));
  EXPECT_FALSE(range("<=3.4").contains(v("3.4.0.1")));
}

TEST(VersionRange, AllComparatorsMustHold) {
  VersionRange r = range(">=1 <5 >2 <=4.5 =3.0.7");
  EXPECT_TRUE(r.contains(v("3.0.7")));
  EXPECT_FALSE(r.contains(v("3.0.8")));
  EXPECT_EQ(r.text(), ">=1 <5 >2 <=4.5 =3.0.7");
}

TEST(VersionRange, SpacesAroundAndBetweenComparatorsAreNormalised) {
  EXPECT_EQ(range(">=3.4.0     <3.5.0").text(), ">=3.4.0 <3.5.0");
  EXPECT_EQ(range("   >=3.4.0 <3.5.0   ").text(), ">=3.4.0 <3.5.0");
  EXPECT_EQ(range(" 3.4.x ").text(), ">=3.4 <3.5");
}

TEST(VersionRange, EightComparatorsAndOneHundredTwentyEightBytesAreAccepted) {
  EXPECT_EQ(range(">=1 >=1 >=1 >=1 >=1 >=1 >=1 >=1").text(), ">=1 >=1 >=1 >=1 >=1 >=1 >=1 >=1");
  std::string long_but_fine = ">=1" + std::string(122, ' ') + "<2";
  ASSERT_EQ(long_but_fine.size(), 127u);
  long_but_fine += ' ';
  EXPECT_EQ(range(long_but_fine).text(), ">=1 <2");
}

TEST(VersionRange, RangesThatOnlyJustMatchAreAccepted) {
  EXPECT_EQ(range(">=3 <=3").text(), ">=3 <=3");
  EXPECT_EQ(range("=3 >=3.0.0 <=3.0").text(), "=3 >=3.0.0 <=3.0");
  EXPECT_EQ(range(">3 <3.0.0.2").text(), ">3 <3.0.0.2");  // only 3.0.0.1
  EXPECT_TRUE(range(">3 <3.0.0.2").contains(v("3.0.0.1")));
  EXPECT_EQ(range("<=0").text(), "<=0");
  EXPECT_EQ(range(">=999999999.999999999.999999999.999999999").text(), ">=999999999.999999999.999999999.999999999");
}

// ---- VersionRange: canonical text ----------------------------------------------------------------

TEST(VersionRange, CanonicalTextUsesCanonicalVersionsAndOperators) {
  EXPECT_EQ(range("==03.4.00").text(), "=3.4.0");
  EXPECT_EQ(range(">=03  <004").text(), ">=3 <4");
  EXPECT_EQ(range("3.4.x").text(), ">=3.4 <3.5");
  EXPECT_EQ(range("x").text(), "*");
}

TEST(VersionRange, CanonicalTextRoundTrips) {
  for (std::string_view text : {"*", "x", "3.x", "3.4.*", "3.4.5.x", "3.4", "==3.4.0", ">=3.4.0 <3.5.0",
                                "  >03.1   <=4 ", "999999999.x", "<1 <2 <3 <4 <5 <6 <7 <8", ">=0.0.0.0"}) {
    VersionRange first = range(text);
    VersionRange second = range(first.text());
    EXPECT_EQ(second.text(), first.text()) << text;
    EXPECT_FALSE(first.text().empty()) << text;
  }
}

// ---- VersionRange: rejections --------------------------------------------------------------------

TEST(VersionRange, RejectsEmptyAndWhitespaceOnly) {
  for (std::string_view text : {"", " ", "      "}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("empty"), std::string::npos) << m;
    EXPECT_NE(m.find("\"*\""), std::string::npos) << m;  // says what to write instead
  }
}

TEST(VersionRange, RejectsMoreThanEightComparators) {
  std::string m = rejection("1 1 1 1 1 1 1 1 1");
  EXPECT_NE(m.find("9 comparators"), std::string::npos) << m;
  EXPECT_NE(m.find("at most 8"), std::string::npos) << m;
}

TEST(VersionRange, RejectsMoreThan128Bytes) {
  std::string text = ">=1" + std::string(124, ' ') + "<2";
  ASSERT_EQ(text.size(), 129u);
  std::string m = rejection(text);
  EXPECT_NE(m.find("129 bytes"), std::string::npos) << m;
  EXPECT_NE(m.find("at most 128"), std::string::npos) << m;
}

TEST(VersionRange, RejectsRangesWhoseCanonicalTextExceeds128Bytes) {
  // Each bare version gains an "=", so accepting this would store a text() that parse() refuses.
  auto with_last = [](std::string_view last) {
    std::string text;
    for (int i = 0; i < 7; ++i) text += "123456789.12345 ";
    return text + std::string(last);
  };
  const std::string fits = with_last(">=1.2.345");
  ASSERT_EQ(fits.size(), 121u);
  EXPECT_EQ(range(fits).text().size(), 128u);

  const std::string grows = with_last(">=1.2.3456");
  ASSERT_EQ(grows.size(), 122u);
  std::string m = rejection(grows);
  EXPECT_NE(m.find("129 bytes when written canonically"), std::string::npos) << m;
  EXPECT_NE(m.find("at most 128"), std::string::npos) << m;
}

TEST(VersionRange, RejectsUnknownOperators) {
  for (auto [text, op] : std::vector<std::pair<std::string_view, std::string_view>>{{"=>3.4", "=>"},
                                                                                    {"~3.4", "~"},
                                                                                    {"^3.4", "^"},
                                                                                    {"!=3.4", "!="},
                                                                                    {">=3 ~>3.4", "~>"},
                                                                                    {">>3", ">>"},
                                                                                    {"===3", "==="},
                                                                                    {"<>3", "<>"}}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("unknown operator \"" + std::string(op) + "\""), std::string::npos) << m;
    EXPECT_NE(m.find(">=, <=, >, <, =, =="), std::string::npos) << m;
  }
}

TEST(VersionRange, RejectsOperatorsWithoutAVersion) {
  for (auto [text, op] : std::vector<std::pair<std::string_view, std::string_view>>{
           {">=", ">="}, {"<", "<"}, {"=", "="}, {">= 3.4", ">="}, {"3.4 <", "<"}}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("operator \"" + std::string(op) + "\" has no version"), std::string::npos) << m;
    EXPECT_NE(m.find("without a space"), std::string::npos) << m;
  }
}

TEST(VersionRange, RejectsWildcardsCombinedWithComparators) {
  for (auto [text, token] : std::vector<std::pair<std::string_view, std::string_view>>{
           {"3.x >=3.2", "3.x"}, {">=3.2 3.4.x", "3.4.x"}, {"* <4", "*"}, {"x x", "x"}, {"3.* 4", "3.*"}}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("wildcard \"" + std::string(token) + "\" cannot be combined"), std::string::npos) << m;
  }
}

TEST(VersionRange, RejectsWildcardsWithAnOperator) {
  for (auto [text, token] : std::vector<std::pair<std::string_view, std::string_view>>{
           {">=3.x", "3.x"}, {"<3.4.*", "3.4.*"}, {"=*", "*"}, {">=1 <x", "x"}}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("wildcard \"" + std::string(token) + "\" cannot take an operator"), std::string::npos) << m;
  }
}

TEST(VersionRange, RejectsMalformedWildcards) {
  EXPECT_NE(rejection("3.4.5.6.x").find("\"3.4.5.6.x\" has too many components"), std::string::npos);
  for (std::string_view text : {"3.x.x", "v3.x", ".x", "3..x", "1234567890.x"}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("wildcard \"" + std::string(text) + "\" is not valid"), std::string::npos) << m;
  }
}

TEST(VersionRange, RejectsMalformedVersions) {
  for (std::string_view text : {"3.4.0-beta", "3..4", ".3", "3.", "v3", "3.4.0.0.0", "1234567890", "3.X", "3.4a"}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("\"" + std::string(text) + "\" is not a version"), std::string::npos) << m;
    EXPECT_NE(m.find("1 to 4 dot-separated numbers"), std::string::npos) << m;
  }
  std::string m = rejection(">=3.4 <3.5.0-rc1");
  EXPECT_NE(m.find("\"3.5.0-rc1\" in \"<3.5.0-rc1\" is not a version"), std::string::npos) << m;
}

TEST(VersionRange, RejectsRangesThatCanNeverMatch) {
  for (std::string_view text : {">=2.0 <1.0", ">3 <3", "=3 >3", ">3 <=3", "=3 =4", "=3.4 <3.4.0", "<0", "<0.0.0.0",
                                ">999999999.999999999.999999999.999999999", ">3 <3.0.0.1", ">=1 <=5 =6", "3 4"}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("can never match"), std::string::npos) << m;
    EXPECT_NE(m.find("\"" + std::string(text) + "\""), std::string::npos) << m;  // names the range
  }
}

TEST(VersionRange, RejectsControlCharacters) {
  for (std::string text : {std::string(">=3.4\t<3.5"), std::string("3.4\n"), std::string(">=3\0<4", 6),
                           std::string("\x7f"), std::string("\r")}) {
    std::string m = rejection(text);
    EXPECT_NE(m.find("control character"), std::string::npos) << m;
    for (char c : m) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << m;  // escaped
  }
}

TEST(VersionRange, MessagesEscapeBytesThatAreNotPrintable) {
  std::string m = rejection(">=3.4\xc3\xa9");
  EXPECT_NE(m.find("\\xc3\\xa9"), std::string::npos) << m;
}

// ---- VersionRange: properties --------------------------------------------------------------------

using Triple = std::array<uint32_t, 3>;
using Quad = std::array<uint32_t, 4>;

struct Comparator {
  std::string op;  // "", "=", "==", "<", "<=", ">", ">="
  Triple at;
  size_t written_parts;  // 1..3: "3", "3.4" or "3.4.5" (trailing components then are 0)
};

std::string comparator_text(const Comparator& c) {
  std::string out = c.op + std::to_string(c.at[0]);
  for (size_t i = 1; i < c.written_parts; ++i) out += "." + std::to_string(c.at[i]);
  return out;
}

// Independent of Version's comparison: tuples of four, padded by hand.
bool brute_force_holds(const Comparator& c, const Quad& x) {
  const Quad bound{c.at[0], c.written_parts > 1 ? c.at[1] : 0, c.written_parts > 2 ? c.at[2] : 0, 0};
  const auto lhs = std::tie(x[0], x[1], x[2], x[3]);
  const auto rhs = std::tie(bound[0], bound[1], bound[2], bound[3]);
  if (c.op.empty() || c.op == "=" || c.op == "==") return lhs == rhs;
  if (c.op == "<") return lhs < rhs;
  if (c.op == "<=") return lhs <= rhs;
  if (c.op == ">") return lhs > rhs;
  return lhs >= rhs;
}

const std::vector<std::string> kOps = {"", "=", "==", "<", "<=", ">", ">="};

std::vector<Comparator> all_comparators() {
  std::vector<Comparator> out;
  for (const std::string& op : kOps) {
    for (uint32_t a = 0; a <= 5; ++a) {
      for (uint32_t b = 0; b <= 5; ++b) {
        for (uint32_t c = 0; c <= 5; ++c) {
          for (size_t parts = 1; parts <= 3; ++parts) {
            // Components past `parts` are not written, so only generate them as 0.
            if ((parts < 2 && b != 0) || (parts < 3 && c != 0)) continue;
            out.push_back({op, {a, b, c}, parts});
          }
        }
      }
    }
  }
  return out;
}

// The versions checked: the 0..5 grid, each also with a fourth component of 1. Any satisfiable
// conjunction of comparators from the grid has its least member here (a grid point, or the
// successor of one, which is the grid point with a fourth component of 1).
std::vector<Quad> probe_versions() {
  std::vector<Quad> out;
  for (uint32_t a = 0; a <= 5; ++a) {
    for (uint32_t b = 0; b <= 5; ++b) {
      for (uint32_t c = 0; c <= 5; ++c) {
        out.push_back({a, b, c, 0});
        out.push_back({a, b, c, 1});
      }
    }
  }
  return out;
}

Version as_version(const Quad& q) { return Version{{q[0], q[1], q[2], q[3]}}; }

TEST(VersionRangeProperty, SingleComparatorAgreesWithBruteForceOnTheWholeGrid) {
  const std::vector<Quad> probes = probe_versions();
  for (const Comparator& c : all_comparators()) {
    const std::string text = comparator_text(c);
    auto r = VersionRange::parse(text);
    bool any = false;
    for (const Quad& q : probes) any = any || brute_force_holds(c, q);
    if (!r) {
      // Only "<0" (in any spelling) is empty on its own.
      EXPECT_FALSE(any) << text << ": " << r.error().message();
      EXPECT_NE(r.error().message().find("can never match"), std::string::npos) << text;
      continue;
    }
    for (const Quad& q : probes) {
      ASSERT_EQ(r->contains(as_version(q)), brute_force_holds(c, q)) << text << " vs " << as_version(q).str();
    }
  }
}

TEST(VersionRangeProperty, ConjunctionsAgreeWithBruteForceAndNeverMatchIsExact) {
  const std::vector<Comparator> comparators = all_comparators();
  const std::vector<Quad> probes = probe_versions();
  std::mt19937 rng(20240605);  // fixed: a failure must reproduce
  std::uniform_int_distribution<size_t> pick(0, comparators.size() - 1);
  std::uniform_int_distribution<size_t> count(1, 4);
  size_t accepted = 0, never_match = 0;
  for (int round = 0; round < 4000; ++round) {
    std::vector<Comparator> cs;
    std::string text;
    for (size_t i = count(rng); i > 0; --i) {
      cs.push_back(comparators[pick(rng)]);
      text += (text.empty() ? "" : " ") + comparator_text(cs.back());
    }
    auto holds_all = [&](const Quad& q) {
      for (const Comparator& c : cs) {
        if (!brute_force_holds(c, q)) return false;
      }
      return true;
    };
    bool any = false;
    for (const Quad& q : probes) any = any || holds_all(q);

    auto r = VersionRange::parse(text);
    ASSERT_EQ(r.has_value(), any) << text << (r ? "" : ": " + r.error().message());
    if (!r) {
      ++never_match;
      ASSERT_NE(r.error().message().find("can never match"), std::string::npos) << text;
      continue;
    }
    ++accepted;
    auto again = VersionRange::parse(r->text());
    ASSERT_TRUE(again) << r->text();
    ASSERT_EQ(again->text(), r->text());
    for (const Quad& q : probes) {
      const Version x = as_version(q);
      ASSERT_EQ(r->contains(x), holds_all(q)) << text << " vs " << x.str();
      ASSERT_EQ(again->contains(x), r->contains(x)) << r->text() << " vs " << x.str();
    }
  }
  // Both outcomes must actually be exercised for the property to mean anything.
  EXPECT_GT(accepted, 500u);
  EXPECT_GT(never_match, 500u);
}

TEST(VersionRangeProperty, RandomTextNeverCrashesAndAcceptedTextRoundTrips) {
  // A poor man's fuzzer over the characters the grammar cares about; libFuzzer goes further.
  constexpr std::string_view kAlphabet = "0123456789.....    <<>>==x*~^!-v\t";
  std::mt19937 rng(7);
  std::uniform_int_distribution<size_t> length(0, 24);
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  const std::vector<Quad> probes = probe_versions();
  size_t accepted = 0;
  for (int round = 0; round < 50000; ++round) {
    std::string text;
    for (size_t n = length(rng); n > 0; --n) text.push_back(kAlphabet[pick(rng)]);
    auto r = VersionRange::parse(text);
    if (!r) {
      ASSERT_EQ(r.error().code(), ErrorCode::kInvalidArgument) << text;
      ASSERT_FALSE(r.error().message().empty()) << text;
      continue;
    }
    ++accepted;
    ASSERT_FALSE(r->text().empty()) << text;
    auto again = VersionRange::parse(r->text());
    ASSERT_TRUE(again) << text << " -> " << r->text() << ": " << again.error().message();
    ASSERT_EQ(again->text(), r->text()) << text;
    for (size_t i = 0; i < probes.size(); i += 7) {
      ASSERT_EQ(again->contains(as_version(probes[i])), r->contains(as_version(probes[i]))) << text;
    }
  }
  EXPECT_GT(accepted, 100u);
}

// ---- VersionRange: hostile input -----------------------------------------------------------------

TEST(VersionRange, HostileInputsAreRejectedQuickly) {
  std::string hundred_comparators;
  for (int i = 0; i < 100; ++i) hundred_comparators += ">=1 ";
  const std::vector<std::string> hostile = {
      std::string(1 << 20, '9'), std::string(1 << 20, ' '),    std::string(1000, ' '),          std::string(1000, '.'),
      std::string(100, '\0'),    std::string("\0", 1),         std::string(">=3.4\0 <3.5", 11), hundred_comparators,
      std::string(64, '>'),      std::string(1 << 16, '\xff'),
  };
  for (const std::string& text : hostile) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) {
      auto r = VersionRange::parse(text);
      ASSERT_FALSE(r) << text.substr(0, 40);
      ASSERT_LT(r.error().message().size(), 1024u);  // a message never echoes a huge input
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500)) << text.substr(0, 40);
  }
  EXPECT_NE(rejection(std::string(1000, ' ')).find("1000 bytes"), std::string::npos);
  EXPECT_NE(rejection(hundred_comparators).find("400 bytes"), std::string::npos);
}

TEST(VersionRange, AMostlyValidInputTruncatedAnywhereNeverReadsPastItsEnd) {
  // Under ASan this catches a read past the end of a string_view that is not NUL-terminated.
  const std::string full = ">=3.4.0 <3.5.0 =3.4.7 3.4.x 999999999.x";
  for (size_t n = 0; n <= full.size(); ++n) {
    std::vector<char> exact(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = VersionRange::parse(std::string_view(exact.data(), exact.size()));
    (void)r;
    auto pv = parse_version(std::string_view(exact.data(), exact.size()));
    (void)pv;
  }
}

TEST(VersionRange, ContainsDoesNotAllocate) {
  const VersionRange r = range(">=1 <5 >2 <=4.5 >=3.0.7 <4.4.4.4 >=0 <=9");
  const VersionRange everything = range("*");
  const std::vector<Version> versions = {v("3.0.7"), v("0"), v("9.9.9.9"), Version{}, Version{{1, 2, 3, 4, 5}}};
  const size_t before = g_allocations.load();
  size_t hits = 0;
  for (const Version& x : versions) hits += static_cast<size_t>(r.contains(x)) + everything.contains(x);
  const size_t after = g_allocations.load();
  EXPECT_EQ(after, before);
  EXPECT_EQ(hits, versions.size() + 1);  // everything contains all; r only 3.0.7
}

}  // namespace
}  // namespace ota::model
