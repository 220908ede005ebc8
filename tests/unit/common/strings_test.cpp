#include "common/strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ota {
namespace {

TEST(ParseUint, AcceptsPlainDecimal) {
  EXPECT_EQ(parse_uint("0"), 0u);
  EXPECT_EQ(parse_uint("1"), 1u);
  EXPECT_EQ(parse_uint("65535"), 65535u);
  EXPECT_EQ(parse_uint("18446744073709551615"), UINT64_MAX);
}

TEST(ParseUint, RejectsEmptySignsSpacesAndJunk) {
  EXPECT_EQ(parse_uint(""), std::nullopt);
  EXPECT_EQ(parse_uint("-1"), std::nullopt);
  EXPECT_EQ(parse_uint("+1"), std::nullopt);
  EXPECT_EQ(parse_uint(" 1"), std::nullopt);
  EXPECT_EQ(parse_uint("1 "), std::nullopt);
  EXPECT_EQ(parse_uint("1a"), std::nullopt);
  EXPECT_EQ(parse_uint("0x10"), std::nullopt);
  EXPECT_EQ(parse_uint("1.5"), std::nullopt);
  EXPECT_EQ(parse_uint("1e3"), std::nullopt);
}

TEST(ParseUint, RejectsOverflow) {
  EXPECT_EQ(parse_uint("18446744073709551616"), std::nullopt);
  EXPECT_EQ(parse_uint("99999999999999999999"), std::nullopt);
  EXPECT_EQ(parse_uint("184467440737095516150"), std::nullopt);
}

TEST(Split, KeepsEmptyFields) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split("a,b,,c", ','), (V{"a", "b", "", "c"}));
  EXPECT_EQ(split("abc", ','), (V{"abc"}));
  EXPECT_EQ(split("", ','), (V{""}));
  EXPECT_EQ(split(",", ','), (V{"", ""}));
  EXPECT_EQ(split("a|b|", '|'), (V{"a", "b", ""}));
}

TEST(Trim, RemovesAsciiWhitespaceAtBothEndsOnly) {
  EXPECT_EQ(trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(trim("\t\n x"), "x");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t\r\n "), "");
}

TEST(Iequals, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_TRUE(iequals("EXPO-PLATFORM", "expo-platform"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("abc", "abcd"));
  // Only ASCII letters fold; other bytes must match exactly.
  EXPECT_FALSE(iequals("\xc4", "\xe4"));
  EXPECT_FALSE(iequals("[", "{"));
}

TEST(ToLower, LowersAsciiOnly) {
  EXPECT_EQ(to_lower("MiXeD-123"), "mixed-123");
  EXPECT_EQ(to_lower("\xc4"), "\xc4");
}

TEST(StartsWith, MatchesPrefixes) {
  EXPECT_TRUE(starts_with("OTA_LISTEN", "OTA_"));
  EXPECT_TRUE(starts_with("abc", ""));
  EXPECT_FALSE(starts_with("OT", "OTA_"));
  EXPECT_FALSE(starts_with("xOTA_", "OTA_"));
}

TEST(FormatBytes, UsesBinaryUnits) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(3u << 19), "1.5 MiB");
  EXPECT_EQ(format_bytes(64ull << 20), "64.0 MiB");
}

}  // namespace
}  // namespace ota
