#include "crypto/seal.h"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"
#include "crypto/digest.h"

namespace ota::crypto {
namespace {

constexpr size_t kOverhead = 1 + 12 + 16;  // version, nonce, tag

const std::string& test_key() {
  static const std::string key = derive_key("0123456789abcdef0123456789abcdef", "seal");
  return key;
}

std::string unhex(std::string_view hex) {
  auto raw = hex_decode(hex);
  EXPECT_TRUE(raw.has_value()) << hex;
  return raw.value_or("");
}

void expect_corruption(const Result<std::string>& result, const std::string& what) {
  ASSERT_FALSE(result) << what;
  EXPECT_EQ(result.error().code(), ErrorCode::kCorruption) << what << ": " << result.error().message();
}

TEST(Seal, RoundTripsEmptyPlaintext) {
  auto sealed = seal(test_key(), "", "ctx");
  ASSERT_TRUE(sealed) << sealed.error().message();
  EXPECT_EQ(sealed->size(), kOverhead);
  EXPECT_EQ((*sealed)[0], '\x01');
  auto opened = unseal(test_key(), *sealed, "ctx");
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(*opened, "");
}

TEST(Seal, RoundTrips10KbPlaintext) {
  std::string plaintext(10 * 1024, '\0');
  for (size_t i = 0; i < plaintext.size(); ++i) plaintext[i] = static_cast<char>(i * 31 + 7);
  auto sealed = seal(test_key(), plaintext, "signing-key:app:main");
  ASSERT_TRUE(sealed) << sealed.error().message();
  EXPECT_EQ(sealed->size(), plaintext.size() + kOverhead);
  EXPECT_EQ(sealed->find(plaintext.substr(0, 64)), std::string::npos) << "plaintext visible in the sealed value";
  auto opened = unseal(test_key(), *sealed, "signing-key:app:main");
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(*opened, plaintext);
}

TEST(Seal, RoundTripsWithEmptyContext) {
  auto sealed = seal(test_key(), "secret", "");
  ASSERT_TRUE(sealed) << sealed.error().message();
  EXPECT_EQ(*unseal(test_key(), *sealed, ""), "secret");
  expect_corruption(unseal(test_key(), *sealed, "x"), "non-empty context");
}

TEST(Seal, SealingTheSamePlaintextTwiceGivesDifferentOutputs) {
  auto a = seal(test_key(), "same", "ctx");
  auto b = seal(test_key(), "same", "ctx");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_NE(a->substr(1, 12), b->substr(1, 12)) << "nonces repeat";
  EXPECT_EQ(*unseal(test_key(), *a, "ctx"), *unseal(test_key(), *b, "ctx"));
}

TEST(Seal, FormatIsVersionNonceCiphertextTagWithContextAsAad) {
  // AES-256-GCM test case 16 from McGrew & Viega, "The Galois/Counter Mode of Operation": a value
  // built by hand from the standard vector must open, so the layout is exactly what seal.h says.
  const std::string key = unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  const std::string nonce = unhex("cafebabefacedbaddecaf888");
  const std::string plaintext = unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5"
      "aa0de657ba637b39");
  const std::string aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const std::string ciphertext = unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e63"
      "93ba7a0abcc9f662");
  const std::string tag = unhex("76fc6ece0f4e1768cddf8853bb2d551b");

  auto opened = unseal(key, std::string(1, '\x01') + nonce + ciphertext + tag, aad);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(*opened, plaintext);
}

TEST(Unseal, EverySingleByteAlterationIsCorruption) {
  auto sealed = seal(test_key(), "a signing key's PKCS#8 PEM would go here", "ctx");
  ASSERT_TRUE(sealed) << sealed.error().message();
  for (size_t i = 0; i < sealed->size(); ++i) {
    for (unsigned char flip : {0x01, 0x80}) {
      std::string altered = *sealed;
      altered[i] = static_cast<char>(static_cast<unsigned char>(altered[i]) ^ flip);
      expect_corruption(unseal(test_key(), altered, "ctx"), "byte " + std::to_string(i));
    }
  }
}

TEST(Unseal, TruncatedOrExtendedValueIsCorruption) {
  auto sealed = seal(test_key(), "0123456789", "ctx");
  ASSERT_TRUE(sealed) << sealed.error().message();
  for (size_t n = 0; n < sealed->size(); ++n) {
    expect_corruption(unseal(test_key(), sealed->substr(0, n), "ctx"), "first " + std::to_string(n) + " bytes");
  }
  expect_corruption(unseal(test_key(), *sealed + '\0', "ctx"), "one byte appended");
}

TEST(Unseal, UnknownVersionIsCorruptionNamingTheVersion) {
  auto sealed = seal(test_key(), "x", "ctx");
  ASSERT_TRUE(sealed) << sealed.error().message();
  (*sealed)[0] = '\x02';
  auto opened = unseal(test_key(), *sealed, "ctx");
  expect_corruption(opened, "version 2");
  EXPECT_NE(opened.error().message().find("version 2"), std::string::npos) << opened.error().message();
}

TEST(Unseal, WrongContextIsCorruption) {
  auto sealed = seal(test_key(), "secret", "signing-key:app-a:main");
  ASSERT_TRUE(sealed) << sealed.error().message();
  expect_corruption(unseal(test_key(), *sealed, "signing-key:app-b:main"), "other row");
  expect_corruption(unseal(test_key(), *sealed, ""), "empty context");
}

TEST(Unseal, WrongKeyIsCorruption) {
  auto sealed = seal(test_key(), "secret", "ctx");
  ASSERT_TRUE(sealed) << sealed.error().message();
  const std::string other = derive_key("another data directory's secret", "seal");
  auto opened = unseal(other, *sealed, "ctx");
  expect_corruption(opened, "other key");
  EXPECT_NE(opened.error().message().find("secret.key"), std::string::npos) << opened.error().message();
}

TEST(Seal, KeyThatIsNot32BytesIsInvalidArgument) {
  for (const std::string& key : {std::string(), std::string(16, 'k'), std::string(33, 'k')}) {
    auto sealed = seal(key, "x", "ctx");
    ASSERT_FALSE(sealed);
    EXPECT_EQ(sealed.error().code(), ErrorCode::kInvalidArgument);
    auto opened = unseal(key, std::string(64, 'x'), "ctx");
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(DeriveKey, Is32BytesDeterministicAndDistinctPerPurposeAndSecret) {
  const std::string secret(32, '\x5a');
  const std::string seal_key = derive_key(secret, "seal");
  EXPECT_EQ(seal_key.size(), 32u);
  EXPECT_EQ(derive_key(secret, "seal"), seal_key);
  EXPECT_NE(derive_key(secret, "url-token"), seal_key);
  EXPECT_NE(derive_key(secret, "seal "), seal_key);
  EXPECT_NE(derive_key(secret, ""), seal_key);
  EXPECT_NE(derive_key(std::string(32, '\x5b'), "seal"), seal_key);
}

TEST(DeriveKey, IsHmacSha256OfPrefixedPurpose) {
  const auto mac = hmac_sha256("the secret", "otaserver/download-links");
  EXPECT_EQ(derive_key("the secret", "download-links"),
            std::string(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

}  // namespace
}  // namespace ota::crypto
