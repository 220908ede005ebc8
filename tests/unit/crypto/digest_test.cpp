#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/encoding.h"

namespace ota::crypto {
namespace {

constexpr char kAbcHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kAbcBase64Url[] = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";

std::string mac_hex(const std::array<uint8_t, 32>& mac) {
  return hex_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

TEST(Sha256, MatchesKnownDigests) {
  EXPECT_EQ(sha256("abc").hex(), kAbcHex);
  EXPECT_EQ(sha256("").hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Base64UrlIs43UnpaddedCharacters) {
  std::string text = sha256("abc").base64url();
  EXPECT_EQ(text.size(), 43u);
  EXPECT_EQ(text, kAbcBase64Url);
}

TEST(Sha256, ParsesItsOwnTextForms) {
  const Sha256 d = sha256("abc");
  EXPECT_EQ(Sha256::from_hex(kAbcHex), d);
  EXPECT_EQ(Sha256::from_base64url(kAbcBase64Url), d);
  EXPECT_EQ(Sha256::from_bytes(d.view()), d);
  EXPECT_EQ(d.view().size(), 32u);
}

TEST(Sha256, FromHexRejectsWrongLengthsAndNonHex) {
  const std::string hex = kAbcHex;
  EXPECT_FALSE(Sha256::from_hex(""));
  EXPECT_FALSE(Sha256::from_hex(hex.substr(0, 62)));
  EXPECT_FALSE(Sha256::from_hex(hex.substr(0, 63)));
  EXPECT_FALSE(Sha256::from_hex(hex + "0"));
  EXPECT_FALSE(Sha256::from_hex(hex + "00"));
  EXPECT_FALSE(Sha256::from_hex("zz" + hex.substr(2)));
}

TEST(Sha256, FromBase64UrlRejectsWrongLengthsAndAlphabets) {
  const std::string text = kAbcBase64Url;
  EXPECT_FALSE(Sha256::from_base64url(""));
  EXPECT_FALSE(Sha256::from_base64url(text.substr(0, 42)));
  EXPECT_FALSE(Sha256::from_base64url(text + "A"));
  EXPECT_FALSE(Sha256::from_base64url(text + "="));
  EXPECT_FALSE(Sha256::from_base64url(base64_encode(sha256("abc").view())));  // standard, padded
  // Same length, but the last character carries non-zero unused bits.
  EXPECT_FALSE(Sha256::from_base64url(text.substr(0, 42) + "1"));
}

TEST(Sha256, FromBytesRequiresExactly32Bytes) {
  EXPECT_FALSE(Sha256::from_bytes(std::string(31, 'x')));
  EXPECT_FALSE(Sha256::from_bytes(std::string(33, 'x')));
  EXPECT_TRUE(Sha256::from_bytes(std::string(32, 'x')));
}

TEST(Sha256, OrdersByBytes) {
  auto low = Sha256::from_hex(std::string(64, '0'));
  auto high = Sha256::from_hex(std::string(64, 'f'));
  ASSERT_TRUE(low && high);
  EXPECT_LT(*low, *high);
  EXPECT_NE(*low, *high);
}

TEST(Sha256Hasher, IncrementalEqualsOneShotForEverySplit) {
  const std::string data = "The quick brown fox jumps over the lazy dog, then hashes itself.";
  const Sha256 expected = sha256(data);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    Sha256Hasher h;
    h.update(data.substr(0, cut));
    h.update("");
    h.update(data.substr(cut));
    EXPECT_EQ(h.finish(), expected) << "split at " << cut;
  }
}

TEST(Sha256Hasher, ByteAtATimeEqualsOneShot) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>(i * 7);
  Sha256Hasher h;
  for (char c : data) h.update(std::string_view(&c, 1));
  EXPECT_EQ(h.finish(), sha256(data));
}

TEST(Sha256Hasher, WithoutInputIsTheEmptyDigest) {
  Sha256Hasher h;
  EXPECT_EQ(h.finish(), sha256(""));
}

TEST(Md5Hex, MatchesKnownDigests) {
  EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(HmacSha256, MatchesRfc4231TestCase1) {
  EXPECT_EQ(mac_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(mac_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256, DependsOnKeyAndMessage) {
  EXPECT_NE(hmac_sha256("k1", "m"), hmac_sha256("k2", "m"));
  EXPECT_NE(hmac_sha256("k", "m1"), hmac_sha256("k", "m2"));
  EXPECT_EQ(hmac_sha256("k", "m"), hmac_sha256("k", "m"));
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_TRUE(constant_time_equals("secret-token", "secret-token"));
  EXPECT_FALSE(constant_time_equals("secret-token", "secret-tokeN"));
  EXPECT_FALSE(constant_time_equals("secret", "secret-token"));
  EXPECT_FALSE(constant_time_equals("", "x"));
  EXPECT_TRUE(constant_time_equals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(RandomBytes, HasTheRequestedLength) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1).size(), 1u);
  EXPECT_EQ(random_bytes(32).size(), 32u);
  EXPECT_EQ(random_bytes(4096).size(), 4096u);
}

TEST(RandomBytes, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 100u);
  // All 256 byte values should turn up in 64 KiB of output; a stuck or biased source would not.
  std::set<unsigned char> values;
  for (unsigned char c : random_bytes(64 << 10)) values.insert(c);
  EXPECT_EQ(values.size(), 256u);
}

}  // namespace
}  // namespace ota::crypto
