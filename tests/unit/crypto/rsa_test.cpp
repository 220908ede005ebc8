#include "crypto/rsa.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.h"

namespace ota::crypto {
namespace {

using ota::testing::TempDir;
namespace fs = std::filesystem;

// A fixed 2048-bit key for tests that need "a key" and not a fresh one: ctest runs every test in
// its own process, so a generated key shared through a static would still cost one keygen
// (0.1-1 s) per test. Made with `openssl genpkey -algorithm RSA`; protects nothing.
constexpr char kTestKeyPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCSChhbxnKAgT4n\n"
    "HnJ8gk9BTW1O2qauUALmzUdL2ZrkDxvXhko2qPcWDSyTAQ3PjZ9dEOUz2vrP88ex\n"
    "V881WOaSDbjv2NkZAW7tGrZ6tUL1gYrFGYv//jBjTphFZ8jJuGXCxdrxO6+hpi4j\n"
    "m4pHa64uFhZvfafZ6j8vqxmB3s3S4/YcDsKlwAQ6SRL6bTA/AYMplW2L+0GAk3dp\n"
    "JoTHAzZh5Cf2uuE2GLR1lUaPyHGUj3+OCTB2g3OgakOc1/8JgrixrlgunvlN0bI8\n"
    "PhXDqqYYXp9T+SxTVrAaXYGFGeUgGMvbeAeOThzXddoMDbl6mDvxSZB7Og66n271\n"
    "ZESaUBcnAgMBAAECggEAAOSQPY9lsnoXzS7BzcJmME9ZibqLJlRVkDT/veujUh2d\n"
    "h/XJjQf/arfDPAAs+3CG4Y9xjJ2cHEVbRS706gM/IEl2hfuHaEBlUzcZ7Sof3Kxh\n"
    "aCRoggolyur3bK/eabf3jKH1CAswtFugZetU2cGYxliwORea58QnhWfAYiuLNUIu\n"
    "fdX2+oFc20Aju/mn/uHB7EqteT62RcaJ2y/5FpcaYChoElTmCEmTysqM8dBSDprp\n"
    "vqwFY7Q9Yk9UNwbbe0KxiOX6qJBuJakQWNgP+4v+DomvzERSQCnDpwGddg0koHkz\n"
    "y72+9xExcjNMoHhbDMhvm8XpNZU7rgxtCj97JigfsQKBgQDKH9BTMwoht3kClsqP\n"
    "pOFSentvu1EWXIRQKBUMrUqUz/uZaPm1rTf+bS+ifwgIr8CPP6vk9XazPXPNh6zB\n"
    "e1t9AykD63cLF+SFssaRQq3ZiKD0YznHgVCOn+4XOshv4Pr3xtxmKkYACISucWHN\n"
    "8w46SPeFffuYdwGTLU9zOTO0ywKBgQC490RN7FDqNlsmCiXXNOfgJY9HjhjMsWJz\n"
    "P+ZFekqLCmFhyFe55fxY8FMRTbT90Csl0NtWwS4iAWOYyKnZzlxlQqNt5gcac8S0\n"
    "DNNsDEqTkgjY+TDLKp0JjuxZCgnj0HoWx2BlqcmYTB9/PS9r3ekrsZKWLKsgQP5H\n"
    "+E61Elj3lQKBgQCFBw04ROZNLJDTOGVWxwCZJQ2qitEic3+NteOstTzZ1kzUOffn\n"
    "L3sj076/JvYlqW6FmTVL+pXGABMAWWRE7yhWjcbn0ohF39LCf9gacJU1D6xHTCsR\n"
    "+DUJuY6c8U5L+/mRK+uQvg/WI8UXfn4NawOZLr7ht/nn7aM2t2KMBkDWowKBgD/w\n"
    "gjUpruL3/VROB7y4Njve4APNVDdWToEmorR7zM75vKYvulux7CTWlvCRWzKuRmwh\n"
    "IeGAkDEDJ+nF3ClF09zRR2uTK/tx75qKIH/mU9VlkxdmNP7WcUi/lmZFORv+kmXT\n"
    "cDhUlDLIhc7XWNBB+vu2u8ScFl/k98HrTVH80LJtAoGAapmH9Z1tfiHkN+vKA6zn\n"
    "poYs2fepZqpdsNQ8xzVv29hHVN+U+zMTASUmPIpUq+y1+S/1RG5P+U5Rk+Uz9AG6\n"
    "V6TWrdMieBzVtFHVFyYDqXEcY72RM4UUfVyLWxM4rocgQ94bJbyyR7x488efAqPa\n"
    "MHxD3On3cuPmexduN67438o=\n"
    "-----END PRIVATE KEY-----\n";

const RsaPrivateKey& shared_key() {
  static const RsaPrivateKey key = [] {
    auto loaded = RsaPrivateKey::from_pem(kTestKeyPem);
    if (!loaded) {
      std::fprintf(stderr, "cannot load the test key: %s\n", loaded.error().message().c_str());
      std::abort();
    }
    return std::move(loaded).value();
  }();
  return key;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command; the openssl CLI is the independent implementation we check against.
CommandResult run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

bool have_openssl_cli() {
  static const bool available = run("openssl version").exit_code == 0;
  return available;
}

#define REQUIRE_OPENSSL_CLI()                                                                \
  do {                                                                                       \
    if (!have_openssl_cli()) GTEST_SKIP() << "the openssl command-line tool is not on PATH"; \
  } while (0)

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `command` (which should write `output`) and returns that file's content.
std::string openssl_output_file(const std::string& command, const fs::path& output) {
  const CommandResult r = run(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  return read_file(output);
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr int64_t kDayMs = 86'400'000;

// --- keys ------------------------------------------------------------------------------------------

TEST(RsaPrivateKey, GeneratedKeyHasRequestedSizeAndRoundTripsThroughPkcs8Pem) {
  auto key = RsaPrivateKey::generate(2048);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->bits(), 2048);
  const std::string pem = key->private_pem();
  EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << pem.substr(0, 40);
  EXPECT_NE(pem, shared_key().private_pem());

  auto reloaded = RsaPrivateKey::from_pem(pem);
  ASSERT_TRUE(reloaded) << reloaded.error().message();
  EXPECT_EQ(reloaded->bits(), 2048);
  EXPECT_EQ(reloaded->public_pem(), key->public_pem());
  EXPECT_EQ(reloaded->private_pem(), pem);
  EXPECT_EQ(*reloaded->sign_sha256("hello"), *key->sign_sha256("hello"));

  auto verified = verify_sha256(key->public_pem(), "hello", *key->sign_sha256("hello"));
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_TRUE(*verified);
}

TEST(RsaPrivateKey, PublicPemIsSubjectPublicKeyInfoAndVerifiesOwnSignatures) {
  const RsaPrivateKey& key = shared_key();
  const std::string pub = key.public_pem();
  EXPECT_EQ(pub.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u) << pub;

  auto signature = key.sign_sha256("the manifest body");
  ASSERT_TRUE(signature) << signature.error().message();
  EXPECT_EQ(signature->size(), 256u);
  auto verified = verify_sha256(pub, "the manifest body", *signature);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_TRUE(*verified);
}

TEST(RsaPrivateKey, SignaturesArePkcs1V15AndThereforeDeterministic) {
  const RsaPrivateKey& key = shared_key();
  EXPECT_EQ(*key.sign_sha256("same input"), *key.sign_sha256("same input"));
  EXPECT_NE(*key.sign_sha256("input a"), *key.sign_sha256("input b"));
  EXPECT_EQ(key.sign_sha256("")->size(), 256u);
}

TEST(RsaPrivateKey, GenerateRefusesKeysShorterThan2048Bits) {
  auto key = RsaPrivateKey::generate(1024);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message().find("2048"), std::string::npos) << key.error().message();
}

TEST(RsaPrivateKey, FromPemAcceptsPkcs1AndPkcs8FromOpensslCli) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string pkcs1 =
      openssl_output_file("openssl genrsa -traditional -out " + quoted(dir / "k1.pem") + " 2048", dir / "k1.pem");
  const std::string pkcs8 = openssl_output_file(
      "openssl pkcs8 -topk8 -nocrypt -in " + quoted(dir / "k1.pem") + " -out " + quoted(dir / "k8.pem"),
      dir / "k8.pem");
  ASSERT_NE(pkcs1.find("-----BEGIN RSA PRIVATE KEY-----"), std::string::npos) << pkcs1;
  ASSERT_NE(pkcs8.find("-----BEGIN PRIVATE KEY-----"), std::string::npos) << pkcs8;

  auto from_pkcs1 = RsaPrivateKey::from_pem(pkcs1);
  auto from_pkcs8 = RsaPrivateKey::from_pem(pkcs8);
  ASSERT_TRUE(from_pkcs1) << from_pkcs1.error().message();
  ASSERT_TRUE(from_pkcs8) << from_pkcs8.error().message();
  EXPECT_EQ(from_pkcs1->bits(), 2048);
  EXPECT_EQ(from_pkcs1->public_pem(), from_pkcs8->public_pem());
  EXPECT_EQ(*from_pkcs1->sign_sha256("payload"), *from_pkcs8->sign_sha256("payload"));
  // private_pem() normalizes both to PKCS#8.
  EXPECT_EQ(from_pkcs1->private_pem(), from_pkcs8->private_pem());
}

TEST(RsaPrivateKey, FromPemAcceptsKeyFollowingOtherPemBlocks) {
  // A bundle file with the certificate first, as some tools write them.
  const RsaPrivateKey& key = shared_key();
  auto cert = make_code_signing_certificate(key, {.common_name = "bundle", .not_before_ms = now_ms()});
  ASSERT_TRUE(cert) << cert.error().message();
  auto loaded = RsaPrivateKey::from_pem(*cert + key.private_pem());
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->public_pem(), key.public_pem());
}

TEST(RsaPrivateKey, FromPemRejectsTextThatIsNotPem) {
  for (const std::string input : {"", "hello", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"}) {
    auto key = RsaPrivateKey::from_pem(input);
    ASSERT_FALSE(key) << input;
    EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(key.error().message().find("not PEM"), std::string::npos) << key.error().message();
  }
}

TEST(RsaPrivateKey, FromPemRejectsDamagedPemWithOpensslReason) {
  auto key = RsaPrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n");
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message().find("cannot read the private key"), std::string::npos) << key.error().message();
  EXPECT_NE(key.error().message().find("OpenSSL: "), std::string::npos) << key.error().message();
}

TEST(RsaPrivateKey, FromPemRejectsPublicKeyAndSaysAPrivateKeyIsNeeded) {
  auto key = RsaPrivateKey::from_pem(shared_key().public_pem());
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message().find("no private key"), std::string::npos) << key.error().message();
}

TEST(RsaPrivateKey, FromPemRejectsEcKey) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string pem = openssl_output_file(
      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + quoted(dir / "ec.pem"), dir / "ec.pem");
  auto key = RsaPrivateKey::from_pem(pem);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message().find("type is EC"), std::string::npos) << key.error().message();
  EXPECT_NE(key.error().message().find("needs an RSA key"), std::string::npos) << key.error().message();
}

TEST(RsaPrivateKey, FromPemRejects1024BitKey) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string pem =
      openssl_output_file("openssl genrsa -out " + quoted(dir / "small.pem") + " 1024", dir / "small.pem");
  auto key = RsaPrivateKey::from_pem(pem);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(key.error().message().find("has 1024 bits; at least 2048"), std::string::npos) << key.error().message();
}

TEST(RsaPrivateKey, FromPemRejectsEncryptedKeysAndSaysHowToRemoveThePassphrase) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  write_file(dir / "plain.pem", shared_key().private_pem());
  // `openssl genrsa -aes256` writes encrypted PKCS#8 on OpenSSL 3; older tools write the
  // traditional form with a Proc-Type header. Converting the shared key gives both without keygen.
  const std::string pkcs8 = openssl_output_file(
      "openssl pkey -in " + quoted(dir / "plain.pem") + " -aes256 -passout pass:x -out " + quoted(dir / "enc8.pem"),
      dir / "enc8.pem");
  const std::string traditional =
      openssl_output_file("openssl rsa -in " + quoted(dir / "plain.pem") +
                              " -aes256 -traditional -passout pass:x -out " + quoted(dir / "enc1.pem"),
                          dir / "enc1.pem");
  ASSERT_NE(pkcs8.find("BEGIN ENCRYPTED PRIVATE KEY"), std::string::npos) << pkcs8;
  ASSERT_NE(traditional.find("Proc-Type: 4,ENCRYPTED"), std::string::npos) << traditional;

  for (const std::string& pem : {pkcs8, traditional}) {
    auto key = RsaPrivateKey::from_pem(pem);
    ASSERT_FALSE(key);
    EXPECT_EQ(key.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(key.error().message().find("encrypted"), std::string::npos) << key.error().message();
    EXPECT_NE(key.error().message().find("openssl pkey -in key.pem -out plain.pem"), std::string::npos)
        << key.error().message();
  }
}

// --- signatures --------------------------------------------------------------------------------------

TEST(Sha256Signature, VerifiesWithOpensslDgst) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string data = "{\"id\":\"update\",\"assets\":[]}\n";
  write_file(dir / "pub.pem", shared_key().public_pem());
  write_file(dir / "data.bin", data);
  write_file(dir / "sig.bin", *shared_key().sign_sha256(data));
  const std::string verify =
      "openssl dgst -sha256 -verify " + quoted(dir / "pub.pem") + " -signature " + quoted(dir / "sig.bin") + " ";

  const CommandResult good = run(verify + quoted(dir / "data.bin"));
  EXPECT_EQ(good.exit_code, 0) << good.output;
  EXPECT_NE(good.output.find("Verified OK"), std::string::npos) << good.output;

  std::string altered = data;
  altered[5] ^= 0x01;
  write_file(dir / "altered.bin", altered);
  const CommandResult bad = run(verify + quoted(dir / "altered.bin"));
  EXPECT_NE(bad.exit_code, 0) << bad.output;
  EXPECT_EQ(bad.output.find("Verified OK"), std::string::npos) << bad.output;
}

TEST(Sha256Signature, OpensslDgstSignatureVerifiesWithVerifySha256) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string data = "signed by the reference implementation";
  write_file(dir / "key.pem", shared_key().private_pem());
  write_file(dir / "data.bin", data);
  const std::string signature = openssl_output_file("openssl dgst -sha256 -sign " + quoted(dir / "key.pem") + " -out " +
                                                        quoted(dir / "sig.bin") + " " + quoted(dir / "data.bin"),
                                                    dir / "sig.bin");
  EXPECT_EQ(signature, *shared_key().sign_sha256(data));
  auto verified = verify_sha256(shared_key().public_pem(), data, signature);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_TRUE(*verified);
}

TEST(Sha256Signature, AnySingleFlippedByteFailsVerification) {
  const std::string pub = shared_key().public_pem();
  const std::string data = "0123456789abcdef";
  const std::string signature = *shared_key().sign_sha256(data);

  for (size_t i = 0; i < data.size(); ++i) {
    std::string altered = data;
    altered[i] ^= 0x01;
    auto verified = verify_sha256(pub, altered, signature);
    ASSERT_TRUE(verified) << verified.error().message();
    EXPECT_FALSE(*verified) << "data byte " << i;
  }
  for (size_t i : {size_t{0}, size_t{1}, size_t{128}, size_t{255}}) {
    std::string altered = signature;
    altered[i] ^= 0x01;
    auto verified = verify_sha256(pub, data, altered);
    ASSERT_TRUE(verified) << verified.error().message();
    EXPECT_FALSE(*verified) << "signature byte " << i;
  }
}

TEST(Sha256Signature, WrongLengthSignatureIsFalseNotError) {
  const std::string pub = shared_key().public_pem();
  const std::string signature = *shared_key().sign_sha256("x");
  for (const std::string& bad : {std::string(), signature.substr(1), signature + "0", std::string(512, 'a')}) {
    auto verified = verify_sha256(pub, "x", bad);
    ASSERT_TRUE(verified) << verified.error().message();
    EXPECT_FALSE(*verified) << bad.size();
  }
}

TEST(Sha256Signature, SignatureFromAnotherKeyIsFalse) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  const std::string other =
      openssl_output_file("openssl genrsa -out " + quoted(dir / "other.pem") + " 2048", dir / "other.pem");
  auto other_key = RsaPrivateKey::from_pem(other);
  ASSERT_TRUE(other_key) << other_key.error().message();
  auto verified = verify_sha256(shared_key().public_pem(), "x", *other_key->sign_sha256("x"));
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_FALSE(*verified);
}

TEST(Sha256Signature, VerifiesAgainstCertificatePem) {
  auto cert = make_code_signing_certificate(shared_key(), {.common_name = "verify", .not_before_ms = now_ms()});
  ASSERT_TRUE(cert) << cert.error().message();
  const std::string signature = *shared_key().sign_sha256("body");
  EXPECT_TRUE(*verify_sha256(*cert, "body", signature));
  EXPECT_FALSE(*verify_sha256(*cert, "Body", signature));
}

TEST(Sha256Signature, UnusableKeyIsInvalidArgument) {
  const std::string signature = *shared_key().sign_sha256("x");
  for (const std::string key : {"", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                                "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n"}) {
    auto verified = verify_sha256(key, "x", signature);
    ASSERT_FALSE(verified) << key;
    EXPECT_EQ(verified.error().code(), ErrorCode::kInvalidArgument) << key;
  }
}

TEST(Sha256Signature, NonRsaPublicKeyIsInvalidArgument) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + quoted(dir / "ec.pem"));
  const std::string pub = openssl_output_file(
      "openssl pkey -in " + quoted(dir / "ec.pem") + " -pubout -out " + quoted(dir / "ec.pub"), dir / "ec.pub");
  auto verified = verify_sha256(pub, "x", std::string(64, 'a'));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(verified.error().message().find("RSA"), std::string::npos) << verified.error().message();
}

TEST(Sha256Signature, ConcurrentSigningFromManyThreadsProducesValidSignatures) {
  const RsaPrivateKey& key = shared_key();
  const std::string pub = key.public_pem();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> verified{0};
  std::vector<std::string> first_signatures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int m = 0; m < kPerThread; ++m) {
        const std::string message = "thread " + std::to_string(t) + " message " + std::to_string(m);
        auto signature = key.sign_sha256(message);
        if (!signature) continue;
        if (m == 0) first_signatures[static_cast<size_t>(t)] = *signature;
        auto ok = verify_sha256(pub, message, *signature);
        if (ok && *ok) verified.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(first_signatures[static_cast<size_t>(t)], *key.sign_sha256("thread " + std::to_string(t) + " message 0"));
  }
}

// --- certificates -----------------------------------------------------------------------------------

TEST(CodeSigningCertificate, HasTheExtensionsExpoUpdatesChecks) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  auto cert = make_code_signing_certificate(shared_key(), {.common_name = "my-app", .not_before_ms = now_ms()});
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(cert->rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  write_file(dir / "cert.pem", *cert);

  const CommandResult text = run("openssl x509 -in " + quoted(dir / "cert.pem") + " -noout -text");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  const std::string& out = text.output;
  for (const char* expected :
       {"Version: 3 (0x2)", "Signature Algorithm: sha256WithRSAEncryption", "Issuer: CN = my-app",
        "Subject: CN = my-app", "Public-Key: (2048 bit)",
        "X509v3 Key Usage: critical\n                Digital Signature\n",
        "X509v3 Extended Key Usage: critical\n                Code Signing\n",
        "X509v3 Basic Constraints: critical\n                CA:FALSE", "X509v3 Subject Key Identifier"}) {
    EXPECT_NE(out.find(expected), std::string::npos) << "missing \"" << expected << "\" in\n" << out;
  }
}

TEST(CodeSigningCertificate, SelfSignatureVerifiesWithOpenssl) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  auto cert = make_code_signing_certificate(shared_key(), {.common_name = "my-app", .not_before_ms = now_ms() - 1000});
  ASSERT_TRUE(cert) << cert.error().message();
  write_file(dir / "cert.pem", *cert);

  // -check_ss_sig makes openssl check the trust anchor's own signature, which it skips by default.
  const CommandResult verify = run("openssl verify -CAfile " + quoted(dir / "cert.pem") +
                                   " -partial_chain -check_ss_sig -purpose any " + quoted(dir / "cert.pem"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_NE(verify.output.find("cert.pem: OK"), std::string::npos) << verify.output;

  const CommandResult pubkey = run("openssl x509 -in " + quoted(dir / "cert.pem") + " -noout -pubkey");
  EXPECT_EQ(pubkey.output, shared_key().public_pem());
}

TEST(CodeSigningCertificate, SerialIsRandomPositiveAndAtMost128Bits) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  std::vector<std::string> serials;
  for (int i = 0; i < 2; ++i) {
    auto cert = make_code_signing_certificate(shared_key(), {.common_name = "serial", .not_before_ms = now_ms()});
    ASSERT_TRUE(cert) << cert.error().message();
    write_file(dir / "cert.pem", *cert);
    const CommandResult r = run("openssl x509 -in " + quoted(dir / "cert.pem") + " -noout -serial");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(r.output.rfind("serial=", 0), 0u) << r.output;
    std::string hex = r.output.substr(7);
    while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
    EXPECT_LE(hex.size(), 32u) << hex;
    EXPECT_GE(hex.size(), 16u) << hex;  // 2^-64 odds of a false failure
    EXPECT_NE(hex.front(), '-') << hex;
    serials.push_back(hex);
  }
  EXPECT_NE(serials[0], serials[1]);
}

TEST(CodeSigningCertificate, InspectReportsWhatWasAsked) {
  const int64_t asked = now_ms();
  auto cert = make_code_signing_certificate(shared_key(),
                                            {.common_name = "my-app", .not_before_ms = asked, .validity_days = 30});
  ASSERT_TRUE(cert) << cert.error().message();
  auto info = inspect_certificate(*cert);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->common_name, "my-app");
  EXPECT_LE(info->not_before_ms, asked);
  EXPECT_GT(info->not_before_ms, asked - 1000);
  EXPECT_EQ(info->not_before_ms % 1000, 0);
  EXPECT_EQ(info->not_after_ms, info->not_before_ms + 30 * kDayMs);
  EXPECT_TRUE(info->digital_signature);
  EXPECT_TRUE(info->code_signing);
  EXPECT_EQ(info->public_pem, shared_key().public_pem());
}

TEST(CodeSigningCertificate, DatesPast2049UseGeneralizedTimeAndRoundTrip) {
  // 2049-06-01T00:00:00Z: notBefore is a UTCTime, notAfter (2059) a GeneralizedTime.
  const int64_t asked = 2'506'118'400'000;
  auto cert = make_code_signing_certificate(shared_key(), {.common_name = "future", .not_before_ms = asked});
  ASSERT_TRUE(cert) << cert.error().message();
  auto info = inspect_certificate(*cert);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->not_before_ms, asked);
  EXPECT_EQ(info->not_after_ms, asked + 3650 * kDayMs);
}

TEST(CodeSigningCertificate, CommonNameKeepsUtf8) {
  auto cert = make_code_signing_certificate(shared_key(), {.common_name = "Äpp ✓", .not_before_ms = now_ms()});
  ASSERT_TRUE(cert) << cert.error().message();
  EXPECT_EQ(inspect_certificate(*cert)->common_name, "Äpp ✓");
}

TEST(CodeSigningCertificate, RejectsBadOptions) {
  const int64_t now = now_ms();
  for (const CertificateOptions& options :
       {CertificateOptions{.common_name = "", .not_before_ms = now},
        CertificateOptions{.common_name = std::string(65, 'a'), .not_before_ms = now},
        CertificateOptions{.common_name = "x", .not_before_ms = now, .validity_days = 0},
        CertificateOptions{.common_name = "x", .not_before_ms = now, .validity_days = -5}}) {
    auto cert = make_code_signing_certificate(shared_key(), options);
    ASSERT_FALSE(cert) << options.common_name << " " << options.validity_days;
    EXPECT_EQ(cert.error().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(InspectCertificate, ReportsMissingCodeSigningUsages) {
  REQUIRE_OPENSSL_CLI();
  TempDir dir;
  write_file(dir / "key.pem", shared_key().private_pem());
  const std::string base =
      "openssl req -new -x509 -key " + quoted(dir / "key.pem") + " -subj /CN=plain -days 1 -config /dev/null -out ";
  // A v1 certificate with no extensions at all, and one whose usages are for something else.
  const std::string v1 = openssl_output_file(base + quoted(dir / "v1.pem"), dir / "v1.pem");
  const std::string tls = openssl_output_file(
      base + quoted(dir / "tls.pem") + " -addext keyUsage=critical,keyCertSign -addext extendedKeyUsage=serverAuth",
      dir / "tls.pem");
  for (const std::string& pem : {v1, tls}) {
    auto info = inspect_certificate(pem);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->common_name, "plain");
    EXPECT_FALSE(info->digital_signature);
    EXPECT_FALSE(info->code_signing);
    EXPECT_EQ(info->not_after_ms - info->not_before_ms, kDayMs);
    EXPECT_EQ(info->public_pem, shared_key().public_pem());
  }
}

TEST(InspectCertificate, RejectsWhatIsNotACertificate) {
  for (const std::string& pem : {std::string(), std::string("garbage"), shared_key().public_pem(),
                                 std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}) {
    auto info = inspect_certificate(pem);
    ASSERT_FALSE(info) << pem;
    EXPECT_EQ(info.error().code(), ErrorCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace ota::crypto
