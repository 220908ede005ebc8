#include "common/encoding.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ota {
namespace {

std::string random_string(std::mt19937& rng, size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

struct Vector {
  const char* plain;
  const char* base64;
  const char* base64url;
  const char* hex;
};

// RFC 4648 §10.
constexpr Vector kRfc4648[] = {
    {"", "", "", ""},
    {"f", "Zg==", "Zg", "66"},
    {"fo", "Zm8=", "Zm8", "666f"},
    {"foo", "Zm9v", "Zm9v", "666f6f"},
    {"foob", "Zm9vYg==", "Zm9vYg", "666f6f62"},
    {"fooba", "Zm9vYmE=", "Zm9vYmE", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "Zm9vYmFy", "666f6f626172"},
};

TEST(Encoding, MatchesRfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    SCOPED_TRACE(v.plain);
    EXPECT_EQ(base64_encode(v.plain), v.base64);
    EXPECT_EQ(base64url_encode(v.plain), v.base64url);
    EXPECT_EQ(hex_encode(v.plain), v.hex);
    EXPECT_EQ(base64_decode(v.base64), std::string(v.plain));
    EXPECT_EQ(base64url_decode(v.base64url), std::string(v.plain));
    EXPECT_EQ(hex_decode(v.hex), std::string(v.plain));
  }
}

TEST(Encoding, RoundTripsRandomBytesOfEveryLengthUpTo40) {
  std::mt19937 rng(20240501);
  for (size_t n = 0; n <= 40; ++n) {
    SCOPED_TRACE("length " + std::to_string(n));
    std::string bytes = random_string(rng, n);

    std::string hex = hex_encode(bytes);
    EXPECT_EQ(hex.size(), 2 * n);
    EXPECT_EQ(hex_decode(hex), bytes);

    std::string b64 = base64_encode(bytes);
    EXPECT_EQ(b64.size(), (n + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(b64), bytes);

    std::string url = base64url_encode(bytes);
    EXPECT_EQ(url.size(), (4 * n + 2) / 3);
    EXPECT_EQ(url.find_first_of("+/="), std::string::npos) << url;
    EXPECT_EQ(base64url_decode(url), bytes);
  }
}

TEST(Encoding, AlphabetsDifferOnlyInTheLastTwoSymbols) {
  const std::string bytes("\xfb\xff", 2);
  EXPECT_EQ(base64_encode(bytes), "+/8=");
  EXPECT_EQ(base64url_encode(bytes), "-_8");
}

TEST(Encoding, HexEncodesLowerCaseAndDecodesEitherCase) {
  const std::string bytes("\xab\xcd\xef", 3);
  EXPECT_EQ(hex_encode(bytes), "abcdef");
  EXPECT_EQ(hex_decode("ABCDEF"), bytes);
  EXPECT_EQ(hex_decode("aBcDeF"), bytes);
}

TEST(Encoding, HexRejectsOddLengthAndNonHexCharacters) {
  EXPECT_FALSE(hex_decode("abc"));
  EXPECT_FALSE(hex_decode("0g"));
  EXPECT_FALSE(hex_decode("zz"));
  EXPECT_FALSE(hex_decode(" 00"));
  EXPECT_FALSE(hex_decode("0x00"));
}

TEST(Encoding, Base64RejectsBadCharacters) {
  EXPECT_FALSE(base64_decode("Zm9v\n"));
  EXPECT_FALSE(base64_decode("Zm 9"));
  EXPECT_FALSE(base64_decode("Zm9*"));
  EXPECT_FALSE(base64_decode("-_8="));  // URL alphabet
  EXPECT_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

TEST(Encoding, Base64RejectsWrongPadding) {
  EXPECT_FALSE(base64_decode("Zg"));      // padding required
  EXPECT_FALSE(base64_decode("Zg="));     // too little
  EXPECT_FALSE(base64_decode("Zg==="));   // too much
  EXPECT_FALSE(base64_decode("Z==="));    // three pad characters
  EXPECT_FALSE(base64_decode("===="));
  EXPECT_FALSE(base64_decode("=Zg="));    // padding in front
  EXPECT_FALSE(base64_decode("Zg=a"));    // padding in the middle
  EXPECT_FALSE(base64_decode("Zg==Zg==")); // padding before more data
}

TEST(Encoding, Base64RejectsNonCanonicalTrailingBits) {
  // "Zg==" and "Zm8=" are canonical; the variants below decode to the same bytes only if the
  // unused low bits were ignored, which would give one byte string two encodings.
  EXPECT_FALSE(base64_decode("Zh=="));
  EXPECT_FALSE(base64_decode("Zm9="));
  EXPECT_FALSE(base64_decode("Zm+="));
}

TEST(Encoding, Base64UrlRejectsPaddingAndTheStandardAlphabet) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("Zm9v="));
  EXPECT_FALSE(base64url_decode("+/8"));
  EXPECT_FALSE(base64url_decode(" Zg"));
}

TEST(Encoding, Base64UrlRejectsImpossibleLengthsAndNonCanonicalBits) {
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zm9"));
  EXPECT_FALSE(base64url_decode("-_9"));
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff", 2));
}

}  // namespace
}  // namespace ota

namespace ota {
namespace {

TEST(PercentEncode, KeepsUnreservedAndEncodesEverythingElse) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("1.0.0 (beta)&x=y/z"), "1.0.0%20%28beta%29%26x%3Dy%2Fz");
  EXPECT_EQ(percent_encode("\"é\""), "%22%C3%A9%22");
  EXPECT_EQ(percent_encode(""), "");
}

}  // namespace
}  // namespace ota
