#include "http/negotiation.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ota::http {
namespace {

// ---- choose_coding -------------------------------------------------------------------------------

TEST(ChooseCoding, AbsentHeaderMeansIdentity) {
  EXPECT_EQ(choose_coding("", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("   ", true, true), Coding::kIdentity);
}

TEST(ChooseCoding, WhatClientsSendPrefersBrotli) {
  EXPECT_EQ(choose_coding("zstd, br, gzip", true, true), Coding::kBr);  // Android SDK 56
  EXPECT_EQ(choose_coding("br, gzip", true, true), Coding::kBr);
  EXPECT_EQ(choose_coding("gzip, deflate, br", true, true), Coding::kBr);  // iOS URLSession
  EXPECT_EQ(choose_coding("gzip", true, true), Coding::kGzip);             // old Android
}

TEST(ChooseCoding, OnlyOffersVariantsThatExist) {
  EXPECT_EQ(choose_coding("br, gzip", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding("br, gzip", false, true), Coding::kBr);
  EXPECT_EQ(choose_coding("br, gzip", false, false), Coding::kIdentity);
  EXPECT_EQ(choose_coding("br", true, false), Coding::kIdentity);
}

TEST(ChooseCoding, HigherQualityBeatsPreference) {
  EXPECT_EQ(choose_coding("gzip;q=1, br;q=0.5", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip;q=0.5, br;q=0.4", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip;q=0.5, identity", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("br;q=0.001, gzip;q=0.002", true, true), Coding::kGzip);
}

TEST(ChooseCoding, TiesGoBrThenGzipThenIdentity) {
  EXPECT_EQ(choose_coding("identity, gzip, br", true, true), Coding::kBr);
  EXPECT_EQ(choose_coding("identity;q=0.5, gzip;q=0.5", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("*", true, true), Coding::kBr);
  EXPECT_EQ(choose_coding("*", false, false), Coding::kIdentity);
}

TEST(ChooseCoding, ImplicitIdentityRanksBelowNamedCodings) {
  EXPECT_EQ(choose_coding("gzip;q=0.1", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip;q=0.1", false, true), Coding::kIdentity);
}

TEST(ChooseCoding, QZeroExcludes) {
  EXPECT_EQ(choose_coding("br;q=0, gzip", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("br;q=0, gzip;q=0", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("gzip;q=0.000", true, false), Coding::kIdentity);
}

TEST(ChooseCoding, IdentityQZeroExcludesIdentity) {
  EXPECT_EQ(choose_coding("identity;q=0", false, false), std::nullopt);
  EXPECT_EQ(choose_coding("gzip, identity;q=0", false, false), std::nullopt);
  EXPECT_EQ(choose_coding("gzip, identity;q=0", true, false), Coding::kGzip);
}

TEST(ChooseCoding, StarCoversUnlistedCodings) {
  EXPECT_EQ(choose_coding("*;q=0", false, false), std::nullopt);  // identity excluded via *
  EXPECT_EQ(choose_coding("*;q=0", true, true), std::nullopt);
  EXPECT_EQ(choose_coding("*;q=0, identity", true, true), Coding::kIdentity);  // explicit wins over *
  EXPECT_EQ(choose_coding("*;q=0, gzip", true, true), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip;q=0.2, *;q=0.5", true, true), Coding::kBr);  // br through *
  EXPECT_EQ(choose_coding("br;q=0, *", true, true), Coding::kGzip);
}

TEST(ChooseCoding, NamesAreCaseInsensitiveAndXGzipIsGzip) {
  EXPECT_EQ(choose_coding("GZIP", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding("Br", false, true), Coding::kBr);
  EXPECT_EQ(choose_coding("x-gzip", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding("IDENTITY;Q=0", false, false), std::nullopt);
}

TEST(ChooseCoding, UnknownCodingsAloneLeaveIdentity) {
  EXPECT_EQ(choose_coding("zstd", true, true), Coding::kIdentity);
  EXPECT_EQ(choose_coding("deflate, compress", true, true), Coding::kIdentity);
}

TEST(ChooseCoding, MalformedElementsAndParametersAreIgnored) {
  EXPECT_EQ(choose_coding("gzip;q=abc", true, false), Coding::kGzip);  // bad q: ignored, q=1
  EXPECT_EQ(choose_coding("gzip;q=1.5", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding("gzip;q", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding(" gzip ; q=0.5 ", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding(",,gzip,,", true, false), Coding::kGzip);
  EXPECT_EQ(choose_coding("\"gzip\", ;q=0, br", true, true), Coding::kBr);
  EXPECT_EQ(choose_coding("gzip garbage", true, false), Coding::kIdentity);
  EXPECT_EQ(choose_coding(";;;", true, true), Coding::kIdentity);
}

TEST(ChooseCoding, HostileInputIsSafe) {
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "zstd;q=0.5,";
  EXPECT_EQ(choose_coding(many + "gzip", true, true), Coding::kGzip);
  std::mt19937 rng(3);
  const std::string alphabet = "gzipbr*;q=0.1, \tidenty\"";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string s(i % 30, '\0');
    for (char& c : s) c = alphabet[pick(rng)];
    (void)choose_coding(s, i % 2 == 0, i % 3 == 0);
  }
}

// ---- parse_range ---------------------------------------------------------------------------------

void expect_single(const RangeRequest& r, uint64_t first, uint64_t last) {
  EXPECT_EQ(r.kind, RangeKind::kSingle);
  EXPECT_EQ(r.range.first, first);
  EXPECT_EQ(r.range.last, last);
}

TEST(ParseRange, NoHeaderIsNone) { EXPECT_EQ(parse_range("", 100).kind, RangeKind::kNone); }

TEST(ParseRange, FirstLast) {
  expect_single(parse_range("bytes=0-0", 100), 0, 0);
  expect_single(parse_range("bytes=0-99", 100), 0, 99);
  expect_single(parse_range("bytes=10-20", 100), 10, 20);
  expect_single(parse_range("bytes=99-99", 100), 99, 99);
}

TEST(ParseRange, LastBeyondSizeIsClamped) {
  expect_single(parse_range("bytes=50-1000", 100), 50, 99);
  expect_single(parse_range("bytes=0-99999999999999999999999", 100), 0, 99);
}

TEST(ParseRange, OpenEnded) {
  expect_single(parse_range("bytes=0-", 100), 0, 99);
  expect_single(parse_range("bytes=99-", 100), 99, 99);
}

TEST(ParseRange, Suffix) {
  expect_single(parse_range("bytes=-10", 100), 90, 99);
  expect_single(parse_range("bytes=-100", 100), 0, 99);
  expect_single(parse_range("bytes=-500", 100), 0, 99);
  expect_single(parse_range("bytes=-99999999999999999999999", 100), 0, 99);
}

TEST(ParseRange, Unsatisfiable) {
  EXPECT_EQ(parse_range("bytes=100-", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=100-200", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999-", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 100).kind, RangeKind::kUnsatisfiable);
}

TEST(ParseRange, EmptyRepresentationMakesAnyRangeUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=0-0", 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-5", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(ParseRange, InvalidRangeIsIgnored) { EXPECT_EQ(parse_range("bytes=5-2", 100).kind, RangeKind::kIgnored); }

TEST(ParseRange, MultipleRangesAreIgnored) {
  EXPECT_EQ(parse_range("bytes=0-1,5-6", 100).kind, RangeKind::kIgnored);
  EXPECT_EQ(parse_range("bytes=0-1, 200-300", 100).kind, RangeKind::kIgnored);
  EXPECT_EQ(parse_range("bytes=0-0,0-0,0-0,0-0", 100).kind, RangeKind::kIgnored);
}

TEST(ParseRange, MalformedIsIgnored) {
  for (const char* h :
       {"bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=1-2-3", "bytes=1", "bytes=+1-2", "bytes=1 -2", "bytes=1- 2",
        "items=0-1", "bytes 0-1", "bytes =0-1", "=0-1", "bytes=0x1-2", "bytes=,", "bytes=1-a"}) {
    EXPECT_EQ(parse_range(h, 100).kind, RangeKind::kIgnored) << h;
  }
}

TEST(ParseRange, WhitespaceToleranceFollowsTheListRule) {
  expect_single(parse_range("  bytes=1-2  ", 100), 1, 2);
  expect_single(parse_range("bytes= 1-2", 100), 1, 2);
  expect_single(parse_range("bytes=1-2 ,", 100), 1, 2);  // empty list elements are allowed
  expect_single(parse_range("bytes=,\t1-2", 100), 1, 2);
  expect_single(parse_range("BYTES=1-2", 100), 1, 2);  // the unit is case-insensitive
}

TEST(ParseRange, HeaderOver256BytesIsIgnored) {
  std::string h = "bytes=0-1" + std::string(247, ' ');
  ASSERT_EQ(h.size(), 256u);
  expect_single(parse_range(h, 100), 0, 1);
  EXPECT_EQ(parse_range(h + " ", 100).kind, RangeKind::kIgnored);
  EXPECT_EQ(parse_range(std::string(1 << 20, ','), 100).kind, RangeKind::kIgnored);
}

TEST(ParseRange, HugeSize) {
  expect_single(parse_range("bytes=-1", UINT64_MAX), UINT64_MAX - 1, UINT64_MAX - 1);
  expect_single(parse_range("bytes=0-", UINT64_MAX), 0, UINT64_MAX - 1);
}

// ---- if_none_match_matches -----------------------------------------------------------------------

TEST(IfNoneMatch, ExactStrongTag) {
  EXPECT_TRUE(if_none_match_matches("\"abc\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("\"abd\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("", "\"abc\""));
}

TEST(IfNoneMatch, Star) {
  EXPECT_TRUE(if_none_match_matches("*", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches(" * ", "\"abc\""));
}

TEST(IfNoneMatch, ListOfTags) {
  EXPECT_TRUE(if_none_match_matches("\"x\", \"abc\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches("\"x\",\"y\",\t\"abc\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("\"x\", \"y\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches(",, \"abc\" ,", "\"abc\""));
}

TEST(IfNoneMatch, WeakComparisonIgnoresWPrefix) {
  EXPECT_TRUE(if_none_match_matches("W/\"abc\"", "\"abc\""));
  EXPECT_TRUE(if_none_match_matches("\"x\", W/\"abc\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("w/\"abc\"", "\"abc\""));  // W/ is case-sensitive
}

TEST(IfNoneMatch, CommasInsideTagsAreNotSeparators) {
  EXPECT_TRUE(if_none_match_matches("\"a,b\"", "\"a,b\""));
  EXPECT_FALSE(if_none_match_matches("\"a,b\"", "\"a\""));
}

TEST(IfNoneMatch, TagsMustBeQuoted) {
  EXPECT_FALSE(if_none_match_matches("abc", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("\"abc", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("\"abc\"x", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("*, \"x\"", "\"x\""));  // "*" only stands alone
}

TEST(IfNoneMatch, MatchBeforeJunkStillCounts) {
  EXPECT_TRUE(if_none_match_matches("\"abc\", junk", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches("junk, \"abc\"", "\"abc\""));
}

TEST(IfNoneMatch, HostileInputIsSafe) {
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "\"x\", ";
  EXPECT_FALSE(if_none_match_matches(many, "\"abc\""));
  EXPECT_TRUE(if_none_match_matches(many + "\"abc\"", "\"abc\""));
  EXPECT_FALSE(if_none_match_matches(std::string(100000, '"'), "\"abc\""));
  EXPECT_FALSE(if_none_match_matches(std::string(100000, 'W'), "\"abc\""));
}

// ---- parse_http_date -----------------------------------------------------------------------------

constexpr int64_t kNov6_1994 = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(ParseHttpDate, ImfFixdate) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kNov6_1994);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT"), 951868799000);
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1000);
}

TEST(ParseHttpDate, Rfc850) {
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kNov6_1994);
  EXPECT_EQ(parse_http_date("Wednesday, 01-Jan-20 00:00:00 GMT"), 1577836800000);
}

TEST(ParseHttpDate, Asctime) {
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kNov6_1994);
  EXPECT_EQ(parse_http_date("Sun Nov 06 08:49:37 1994"), kNov6_1994);
  EXPECT_EQ(parse_http_date("Thu Jan  1 00:00:00 1970"), 0);
}

TEST(ParseHttpDate, SurroundingWhitespaceIsTolerated) {
  EXPECT_EQ(parse_http_date("  Sun, 06 Nov 1994 08:49:37 GMT "), kNov6_1994);
}

TEST(ParseHttpDate, LeapSecondIsAccepted) {
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800000);
}

TEST(ParseHttpDate, OutOfRangeFieldsAreRejected) {
  for (const char* d : {
           "Sun, 32 Nov 1994 08:49:37 GMT",
           "Sun, 00 Nov 1994 08:49:37 GMT",
           "Sun, 31 Nov 1994 08:49:37 GMT",
           "Sun, 29 Feb 1900 08:49:37 GMT",
           "Sun, 29 Feb 2023 08:49:37 GMT",
           "Sun, 06 Nov 1994 24:00:00 GMT",
           "Sun, 06 Nov 1994 08:60:37 GMT",
           "Sun, 06 Nov 1994 08:49:61 GMT",
           "Sunday, 32-Nov-94 08:49:37 GMT",
           "Sun Nov 31 08:49:37 1994",
       }) {
    EXPECT_EQ(parse_http_date(d), std::nullopt) << d;
  }
}

TEST(ParseHttpDate, MalformedIsRejected) {
  for (const char* d : {
           "",
           "garbage",
           "Sun, 06 Nov 1994 08:49:37 UTC",
           "Sun, 06 Nov 1994 08:49:37 gmt",
           "Sun, 06 nov 1994 08:49:37 GMT",
           "sun, 06 Nov 1994 08:49:37 GMT",
           "Xyz, 06 Nov 1994 08:49:37 GMT",
           "Sun, 6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 94 08:49:37 GMT",
           "Sun 06 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49 GMT",
           "Sun, 06 Nov 1994 8:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:37",
           "Sun, 06-Nov-94 08:49:37 GMT",
           "Sunday, 06 Nov 1994 08:49:37 GMT",
           "Sunday, 06-Nov-1994 08:49:37 GMT",
           "Sun Nov  6 08:49:37 94",
           "Sun Nov 6 08:49:37 1994",
           "Sun Nov  6 08:49:37 1994 GMT",
           "1994-11-06T08:49:37Z",
           "784111777",
           "Sun, +6 Nov 1994 08:49:37 GMT",
           "Sun, 06 Nov 1994 08:49:3a GMT",
       }) {
    EXPECT_EQ(parse_http_date(d), std::nullopt) << d;
  }
}

TEST(ParseHttpDate, RandomInputIsSafe) {
  std::mt19937 rng(5);
  const std::string alphabet = "SunNovGMT, -:0123456789 dayJ";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string s(i % 35, '\0');
    for (char& c : s) c = alphabet[pick(rng)];
    (void)parse_http_date(s);
  }
  EXPECT_EQ(parse_http_date(std::string(1 << 20, ',')), std::nullopt);
}

}  // namespace
}  // namespace ota::http
