#include "crypto/tls.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/rsa.h"
#include "support/temp_dir.h"

namespace ota::crypto {
namespace {

using ota::testing::TempDir;

void write(const std::filesystem::path& path, const std::string& text) { std::ofstream(path) << text; }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A key and a self-signed certificate for it, as PEM files in `dir`.
struct Pair {
  std::string cert, key;
};
Pair make_pair(const TempDir& dir, const std::string& name, int64_t not_before_ms, int validity_days) {
  auto key = RsaPrivateKey::generate(2048);
  EXPECT_TRUE(key);
  auto cert = make_code_signing_certificate(*key, {name, not_before_ms, validity_days});
  EXPECT_TRUE(cert);
  Pair p{(dir / (name + ".crt")).string(), (dir / (name + ".key")).string()};
  write(p.cert, *cert);
  write(p.key, key->private_pem());
  return p;
}

class TlsCertificateTest : public ::testing::Test {
 protected:
  TempDir dir;
  Pair a = make_pair(dir, "a", now_ms() - 3600'000, 30);
};

TEST_F(TlsCertificateTest, LoadsAMatchingPairAndDescribesIt) {
  auto cert = TlsCertificate::load(a.cert, a.key);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ((*cert)->subject(), "CN=a");
  EXPECT_EQ((*cert)->chain_length(), 1u);
  EXPECT_EQ((*cert)->sha256_fingerprint().size(), 32u * 3 - 1);  // "AB:CD:..."
  EXPECT_NEAR(static_cast<double>((*cert)->not_after_s() - (*cert)->not_before_s()), 30.0 * 86400, 1.0);
  EXPECT_EQ((*cert)->not_after_text().size(), 20u);  // 2026-12-31T23:59:59Z
  EXPECT_FALSE((*cert)->expired(now_ms() / 1000));
}

TEST_F(TlsCertificateTest, ChainFileKeepsEveryCertificate) {
  Pair b = make_pair(dir, "b", now_ms(), 30);
  std::ifstream in1(a.cert), in2(b.cert);
  std::string chain((std::istreambuf_iterator<char>(in1)), {});
  chain.append(std::istreambuf_iterator<char>(in2), {});
  write(dir / "chain.pem", chain);
  auto cert = TlsCertificate::load((dir / "chain.pem").string(), a.key);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ((*cert)->chain_length(), 2u);
  EXPECT_EQ((*cert)->subject(), "CN=a");  // the first is the leaf
}

TEST_F(TlsCertificateTest, KeyOfAnotherCertificateIsRefusedNamingBothFiles) {
  Pair b = make_pair(dir, "b", now_ms(), 30);
  auto cert = TlsCertificate::load(a.cert, b.key);
  ASSERT_FALSE(cert);
  EXPECT_EQ(cert.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(cert.error().message().find(b.key), std::string::npos) << cert.error().message();
  EXPECT_NE(cert.error().message().find(a.cert), std::string::npos) << cert.error().message();
  EXPECT_NE(cert.error().message().find("does not belong"), std::string::npos) << cert.error().message();
}

TEST_F(TlsCertificateTest, MissingFilesAreNamed) {
  std::string missing = (dir / "nope.pem").string();
  auto no_cert = TlsCertificate::load(missing, a.key);
  ASSERT_FALSE(no_cert);
  EXPECT_NE(no_cert.error().message().find(missing), std::string::npos) << no_cert.error().message();
  auto no_key = TlsCertificate::load(a.cert, missing);
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message().find(missing), std::string::npos) << no_key.error().message();
}

TEST_F(TlsCertificateTest, GarbageAndSwappedFilesAreExplained) {
  write(dir / "garbage.pem", "this is not a certificate\n");
  auto garbage = TlsCertificate::load((dir / "garbage.pem").string(), a.key);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message().find("garbage.pem holds no PEM certificate"), std::string::npos)
      << garbage.error().message();

  auto swapped = TlsCertificate::load(a.key, a.cert);
  ASSERT_FALSE(swapped);
  EXPECT_NE(swapped.error().message().find("looks like a private key"), std::string::npos) << swapped.error().message();

  // A truncated certificate: the BEGIN line is there, the rest is not.
  std::ifstream in(a.cert);
  std::string pem((std::istreambuf_iterator<char>(in)), {});
  write(dir / "cut.pem", pem.substr(0, pem.size() / 2));
  auto cut = TlsCertificate::load((dir / "cut.pem").string(), a.key);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message().find("not a valid certificate"), std::string::npos) << cut.error().message();
}

TEST_F(TlsCertificateTest, EncryptedKeyIsRefusedWithTheFix) {
  write(dir / "enc.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n");
  auto cert = TlsCertificate::load(a.cert, (dir / "enc.key").string());
  ASSERT_FALSE(cert);
  EXPECT_NE(cert.error().message().find("openssl pkey"), std::string::npos) << cert.error().message();
}

TEST_F(TlsCertificateTest, ExpiryIsReportedNotRefused) {
  Pair old = make_pair(dir, "old", now_ms() - 10LL * 86400 * 1000, 1);
  auto cert = TlsCertificate::load(old.cert, old.key);
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_TRUE((*cert)->expired(now_ms() / 1000));
}

TEST_F(TlsCertificateTest, StoreSwapsWithoutDisturbingHolders) {
  Pair b = make_pair(dir, "b", now_ms(), 30);
  auto first = TlsCertificate::load(a.cert, a.key);
  auto second = TlsCertificate::load(b.cert, b.key);
  ASSERT_TRUE(first && second);
  CertificateStore store(*first);
  std::shared_ptr<const TlsCertificate> held = store.current();
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      auto c = store.current();
      ASSERT_TRUE(c);
      ASSERT_TRUE(c->subject() == "CN=a" || c->subject() == "CN=b");
    }
  });
  for (int i = 0; i < 1000; ++i) store.replace(i % 2 == 0 ? *second : *first);
  stop.store(true);
  reader.join();
  store.replace(*second);
  EXPECT_EQ(store.current()->subject(), "CN=b");
  EXPECT_EQ(held->subject(), "CN=a");  // a handshake that took the old one still has it
}

}  // namespace
}  // namespace ota::crypto
