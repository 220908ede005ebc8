// Expo Updates conformance, part 3: code signing (§4; checklist C15, C78-C88, D4). Every
// signature is checked by the `openssl` command-line tool against the certificate that
// `otaserver keys generate` wrote, over the exact part bytes taken apart by the strict multipart
// parser: an independent verifier, not otaserver's own crypto. The map of all checklist lines,
// and the ones that do not apply (C89, C90), is at the top of expo_protocol_test.cpp.
#include "expo_test_support.h"

namespace ota::testing::expo {
namespace {

using nlohmann::json;

class ExpoSigning : public ExpoSuite {
 protected:
  Headers signed_request(const char* platform, std::optional<int> protocol = 1,
                         std::string expect = std::string(kExpectSignature)) {
    return with(device(platform, protocol), "expo-expect-signature", std::move(expect));
  }
};

TEST_F(ExpoSigning, SignedManifestVerifiesWithOpenssl_C78_C81_C82_C83_C84_C85) {
  for (const char* platform : {"ios", "android"}) {
    for (std::optional<int> protocol : {std::optional<int>(1), std::optional<int>()}) {
      SCOPED_TRACE(std::string(platform) + (protocol ? " P1" : " P0"));
      auto a = server().manifest("demo", signed_request(platform, protocol));
      ASSERT_EQ(a.status(), 200) << a.http.head << a.body;
      expect_valid_multipart(a);
      const Part* m = a.part("manifest");
      ASSERT_NE(m, nullptr);
      auto sig = m->header("expo-signature");
      ASSERT_TRUE(sig) << "C78: no expo-signature on the manifest part (iOS looks it up case-sensitively)";
      EXPECT_TRUE(expect_signature_verifies(*sig, m->body, server().cert("demo")));
      EXPECT_FALSE(a.http.header("expo-signature")) << "multipart signs the part, not the response";
      EXPECT_EQ(json::parse(m->body).value("id", ""), server().update_id("demo", "update2", platform));
    }
  }
}

TEST_F(ExpoSigning, ChangingOneByteFailsVerification_C86) {
  auto a = server().manifest("demo", signed_request("ios"));
  const Part* m = a.part("manifest");
  ASSERT_NE(m, nullptr);
  std::string error;
  auto sig = parse_expo_signature(m->header("expo-signature").value_or(""), error);
  ASSERT_TRUE(sig) << error;
  const std::string s = sig->get("sig").value_or("");
  ASSERT_TRUE(openssl_verify(server().cert("demo"), m->body, s).verified);
  for (size_t at : {size_t{0}, m->body.size() / 2, m->body.size() - 1}) {
    std::string changed = m->body;
    changed[at] = static_cast<char>(changed[at] ^ 0x01);
    auto verdict = openssl_verify(server().cert("demo"), changed, s);
    EXPECT_FALSE(verdict.verified) << "C86: byte " << at << " changed and it still verifies";
    EXPECT_NE(verdict.output.find("Verification failure"), std::string::npos) << verdict.output;
  }
  // And the body with a CRLF of the delimiter included (what a sloppy parser would take).
  EXPECT_FALSE(openssl_verify(server().cert("demo"), m->body + "\r\n", s).verified) << "C86/rule 4";
}

TEST_F(ExpoSigning, ExpectSignatureTrueStillSigns_C15) {
  for (const char* expect : {"true", "sig", "?1", "%%% not a dictionary", "sig, alg=\"rsa-v1_5-sha256\""}) {
    SCOPED_TRACE(std::string("expo-expect-signature: ") + expect);
    auto a = server().manifest("demo", signed_request("android", 1, expect));
    ASSERT_EQ(a.status(), 200) << a.http.head << a.body;
    const Part* m = a.part("manifest");
    ASSERT_NE(m, nullptr);
    auto sig = m->header("expo-signature");
    ASSERT_TRUE(sig) << "C15: presence of the header means sign";
    // No keyid asked for: the app's only key, "main", is used and named.
    expect_signature_verifies(*sig, m->body, server().cert("demo"), "main");
  }
}

TEST_F(ExpoSigning, UnknownKeyidIs400_C83) {
  auto a = server().manifest("demo", signed_request("ios", 1, "sig, keyid=\"other\", alg=\"rsa-v1_5-sha256\""));
  expect_json_error(a.http, 400);
  EXPECT_NE(a.body.find("other"), std::string::npos) << a.body;
  EXPECT_FALSE(a.is_multipart());
}

TEST_F(ExpoSigning, AppWithoutAKeyIs400NeverUnsigned_C88_D4) {
  for (const char* platform : {"ios", "android"}) {
    for (std::optional<int> protocol : {std::optional<int>(1), std::optional<int>()}) {
      for (bool json_format : {false, true}) {
        SCOPED_TRACE(std::string(platform) + (protocol ? " P1" : " P0") + (json_format ? " json" : " multipart"));
        Headers h = signed_request(platform, protocol);
        if (json_format) h = with(h, "Accept", "application/json");
        auto a = server().manifest("plain", h);
        expect_json_error(a.http, 400);
        std::string message = a.json_body().value("message", "");
        EXPECT_NE(message.find("plain"), std::string::npos) << "D4: name the app: " << message;
        EXPECT_NE(message.find("key"), std::string::npos) << "D4: name the missing key: " << message;
        EXPECT_EQ(a.body.find("launchAsset"), std::string::npos) << "D4: never an unsigned body";
      }
    }
  }
  // Without the header the same app serves normally.
  EXPECT_EQ(server().manifest("plain", device("ios")).status(), 200);
}

TEST_F(ExpoSigning, NoUpdateAvailableDirectiveIsSigned_C79) {
  for (const char* platform : {"ios", "android"}) {
    SCOPED_TRACE(platform);
    Headers h =
        with(signed_request(platform), "Expo-Current-Update-ID", server().update_id("demo", "update2", platform));
    auto a = server().manifest("demo", h);
    ASSERT_EQ(a.status(), 200) << a.http.head;
    expect_valid_multipart(a);
    const Part* d = a.part("directive");
    ASSERT_NE(d, nullptr);
    expect_directive(json::parse(d->body), "noUpdateAvailable");
    auto sig = d->header("expo-signature");
    ASSERT_TRUE(sig) << "C79: the directive part is not signed";
    expect_signature_verifies(*sig, d->body, server().cert("demo"));
  }
  // Also when nothing at all is published for the runtime.
  auto none = server().manifest("demo", with(signed_request("ios"), "Expo-Runtime-Version", "7.7.7"));
  ASSERT_NE(none.part("directive"), nullptr) << none.http.head;
  auto sig = none.part("directive")->header("expo-signature");
  ASSERT_TRUE(sig) << "C79";
  expect_signature_verifies(*sig, none.part("directive")->body, server().cert("demo"));
}

TEST_F(ExpoSigning, JsonFormatCarriesTheSignatureAsAResponseHeader_C80) {
  for (const char* platform : {"ios", "android"}) {
    for (std::optional<int> protocol : {std::optional<int>(1), std::optional<int>()}) {
      SCOPED_TRACE(std::string(platform) + (protocol ? " P1" : " P0"));
      auto a = server().manifest("demo", with(signed_request(platform, protocol), "Accept", "application/json"));
      ASSERT_EQ(a.status(), 200) << a.http.head;
      EXPECT_FALSE(a.is_multipart());
      auto sig = a.http.header("expo-signature");
      ASSERT_TRUE(sig) << "C80: " << a.http.head;
      EXPECT_EQ(a.http.header_count("expo-signature"), 1u);
      expect_signature_verifies(*sig, a.body, server().cert("demo"));
      EXPECT_EQ(a.json_body().value("id", ""), server().update_id("demo", "update2", platform));
    }
  }
}

// §2.5 content-encoding row and §4.1: signatures are over the decoded bytes (C85 under C117).
TEST_F(ExpoSigning, SignatureCoversTheDecodedBytesUnderEveryCoding) {
  for (const char* coding : {"gzip", "br", "identity"}) {
    SCOPED_TRACE(coding);
    auto a = server().manifest("demo", with(signed_request("ios"), "Accept-Encoding", coding));
    ASSERT_EQ(a.status(), 200);
    if (std::string(coding) != "identity") {
      EXPECT_EQ(a.http.header_or("content-encoding"), coding);
    }
    ASSERT_TRUE(a.decoded);
    expect_valid_multipart(a);
    const Part* m = a.part("manifest");
    ASSERT_NE(m, nullptr);
    expect_signature_verifies(m->header("expo-signature").value_or(""), m->body, server().cert("demo"));
  }
}

// §4.1 practical rule / §4.7: serialise once, sign that buffer (C86's other face).
TEST_F(ExpoSigning, UnsignedRequestsGetAValidAnswerAndTheSameManifestBytes) {
  auto plain = server().manifest("demo", device("ios"));
  auto signed_answer = server().manifest("demo", signed_request("ios"));
  ASSERT_NE(plain.part("manifest"), nullptr);
  ASSERT_NE(signed_answer.part("manifest"), nullptr);
  expect_valid_multipart(plain);
  EXPECT_EQ(plain.part("manifest")->body, signed_answer.part("manifest")->body)
      << "signing must not re-serialise the manifest";
}

// C83: with several keys the server signs with the one the client names, and says so.
class ExpoKeys : public ExpoSuite {};

TEST_F(ExpoKeys, TheRequestedKeyidSignsAndIsEchoed_C83) {
  const auto second = server().generate_key("demo", "second");
  ASSERT_FALSE(second.empty());
  for (const auto& [keyid, cert] : {std::pair<std::string, std::filesystem::path>{"main", server().cert("demo")},
                                    std::pair<std::string, std::filesystem::path>{"second", second}}) {
    SCOPED_TRACE(keyid);
    auto a = server().manifest(
        "demo", with(device("ios"), "expo-expect-signature", "sig, keyid=\"" + keyid + "\", alg=\"rsa-v1_5-sha256\""));
    ASSERT_EQ(a.status(), 200) << a.http.head;
    const Part* m = a.part("manifest");
    ASSERT_NE(m, nullptr);
    expect_signature_verifies(m->header("expo-signature").value_or(""), m->body, cert, keyid);
    std::string error;
    auto sig = parse_expo_signature(m->header("expo-signature").value_or(""), error);
    ASSERT_TRUE(sig) << error;
    const std::filesystem::path& other = keyid == "main" ? second : server().cert("demo");
    EXPECT_FALSE(openssl_verify(other, m->body, sig->get("sig").value_or("")).verified) << "signed with the wrong key";
  }
}

// ---- the checkers themselves: they must reject what the protocol forbids -----------------------------

TEST(ExpoHarness, StrictMultipartParserRejectsBadFraming) {
  const std::string ct = "multipart/mixed; boundary=ota-B1";
  const std::string part =
      "content-disposition: form-data; name=\"manifest\"\r\ncontent-type: application/json\r\n\r\n{}";
  const std::string good = "--ota-B1\r\n" + part + "\r\n--ota-B1--\r\n";
  std::string error;
  auto ok = parse_multipart(ct, good, error);
  ASSERT_TRUE(ok) << error;
  ASSERT_EQ(ok->parts.size(), 1u);
  EXPECT_EQ(ok->parts[0].name, "manifest");
  EXPECT_EQ(ok->parts[0].body, "{}");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"no final CRLF (C36)", "--ota-B1\r\n" + part + "\r\n--ota-B1--"},
      {"epilogue (C36)", good + "x"},
      {"preamble (C35)", "x\r\n" + good},
      {"zero parts (C46)", "--ota-B1--\r\n"},
      {"delimiter not after CRLF", "--ota-B1\r\n" + part + "--ota-B1--\r\n"},
      {"boundary inside a body (C37)", "--ota-B1\r\n" + part + "\r\n--ota-B1x\r\n--ota-B1--\r\n"},
      {"upper-case part header (C39)",
       "--ota-B1\r\nContent-Disposition: form-data; name=\"manifest\"\r\n\r\n{}\r\n--ota-B1--\r\n"},
      {"no disposition (C38)", "--ota-B1\r\ncontent-type: application/json\r\n\r\n{}\r\n--ota-B1--\r\n"},
      {"unquoted name", "--ota-B1\r\ncontent-disposition: form-data; name=manifest\r\n\r\n{}\r\n--ota-B1--\r\n"},
      {"no blank line", "--ota-B1\r\ncontent-disposition: form-data; name=\"manifest\"\r\n--ota-B1--\r\n"},
  };
  for (const auto& [what, body] : bad) {
    EXPECT_FALSE(parse_multipart(ct, body, error)) << what;
  }
  EXPECT_FALSE(parse_multipart("multipart/mixed; boundary=\"ota-B1\"", good, error)) << "quoted boundary (C34)";
  EXPECT_FALSE(parse_multipart("multipart/mixed", good, error)) << "no boundary (C34)";
  EXPECT_FALSE(parse_multipart("multipart/form-data; boundary=ota-B1", good, error));
  EXPECT_FALSE(parse_multipart("multipart/mixed; boundary=" + std::string(71, 'a'), good, error)) << "C34";
}

TEST(ExpoHarness, SignatureSyntaxCheckersAreStrict) {
  EXPECT_TRUE(strict_base64_decode("aGVsbG8="));
  EXPECT_EQ(strict_base64_decode("aGVsbG8=").value_or(""), "hello");
  EXPECT_FALSE(strict_base64_decode("aGVsbG8")) << "missing padding";
  EXPECT_FALSE(strict_base64_decode("aGV_bG8=")) << "base64url alphabet";
  EXPECT_FALSE(strict_base64_decode("aGVs bG8=")) << "whitespace";
  EXPECT_FALSE(strict_base64_decode("aGVsbG9=")) << "non-canonical trailing bits";
  std::string error;
  auto good = parse_expo_signature("sig=\"abc=\", keyid=\"main\", alg=\"rsa-v1_5-sha256\"", error);
  ASSERT_TRUE(good) << error;
  EXPECT_EQ(good->get("keyid").value_or(""), "main");
  EXPECT_FALSE(parse_expo_signature("sig, keyid=\"main\"", error)) << "bare boolean member";
  EXPECT_FALSE(parse_expo_signature("sig=\"a\", n=1", error)) << "numeric member";
  EXPECT_FALSE(parse_expo_signature("Sig=\"a\"", error)) << "upper-case key";
  EXPECT_FALSE(parse_expo_signature("sig=\"a\";p=1", error)) << "parameters";
}

// C85 is only meaningful if verification can fail: another app's certificate must not verify.
TEST_F(ExpoSigning, OpensslRejectsASignatureFromAnotherAppsKey) {
  auto a = server().manifest("demo", signed_request("ios"));
  const Part* m = a.part("manifest");
  ASSERT_NE(m, nullptr);
  std::string error;
  auto sig = parse_expo_signature(m->header("expo-signature").value_or(""), error);
  ASSERT_TRUE(sig) << error;
  EXPECT_TRUE(openssl_verify(server().cert("demo"), m->body, sig->get("sig").value_or("")).verified);
  EXPECT_FALSE(openssl_verify(server().cert("tokens"), m->body, sig->get("sig").value_or("")).verified)
      << "each app has its own key";
}

}  // namespace
}  // namespace ota::testing::expo
