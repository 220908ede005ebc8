#include "protocol/expo/manifest_request.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace ota::expo {
namespace {

// Header lines as they arrived, looked up case-insensitively like an HTTP library does.
class FakeHeaders : public HeaderSource {
 public:
  FakeHeaders(std::initializer_list<std::pair<std::string, std::string>> lines) : lines_(lines) {}

  FakeHeaders& add(std::string name, std::string value) {
    lines_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  FakeHeaders& remove(std::string_view name) {
    std::erase_if(lines_, [&](const auto& l) { return iequals(l.first, name); });
    return *this;
  }
  FakeHeaders& set(std::string name, std::string value) {
    remove(name);
    return add(std::move(name), std::move(value));
  }

  size_t count(std::string_view name) const override {
    size_t n = 0;
    for (const auto& l : lines_) n += iequals(l.first, name) ? 1 : 0;
    return n;
  }
  std::optional<std::string_view> get(std::string_view name) const override {
    for (const auto& l : lines_) {
      if (iequals(l.first, name)) return std::string_view(l.second);
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

// What current clients send (capitalisation as in expo-updates-protocol.md §1.3).
FakeHeaders valid_request() {
  return FakeHeaders{
      {"Accept", "multipart/mixed,application/expo+json,application/json"},
      {"Expo-Platform", "ios"},
      {"Expo-Protocol-Version", "1"},
      {"Expo-API-Version", "1"},
      {"Expo-Updates-Environment", "BARE"},
      {"Expo-JSON-Error", "true"},
      {"EAS-Client-ID", "8C2B1A3D-0000-4000-8000-00000000ABCD"},
      {"Expo-Runtime-Version", "1.0.0"},
  };
}

ErrorCode code_of(const FakeHeaders& h) {
  auto r = parse_manifest_request(h);
  EXPECT_FALSE(r.has_value());
  return r ? ErrorCode::kInternal : r.error().code();
}

std::string message_of(const FakeHeaders& h) {
  auto r = parse_manifest_request(h);
  return r ? std::string() : r.error().message();
}

TEST(ManifestRequest, ValidRequestParses) {
  auto r = parse_manifest_request(valid_request());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->protocol_version, 1);
  EXPECT_EQ(r->platform, model::Platform::kIos);
  EXPECT_EQ(r->runtime_version, "1.0.0");
  EXPECT_EQ(r->format, ResponseFormat::kMultipart);
  EXPECT_EQ(r->client_id, "8c2b1a3d-0000-4000-8000-00000000abcd");
  EXPECT_FALSE(r->channel);
  EXPECT_FALSE(r->current_update_id);
  EXPECT_FALSE(r->embedded_update_id);
  EXPECT_FALSE(r->expects_signature);
  EXPECT_FALSE(r->expected_keyid);
  EXPECT_TRUE(r->recent_failed_update_ids.empty());
}

TEST(ManifestRequest, AndroidPlatform) {
  auto r = parse_manifest_request(valid_request().set("Expo-Platform", "android"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->platform, model::Platform::kAndroid);
}

// ---- checklist 2-8 -------------------------------------------------------------------------------

TEST(ManifestRequest, MissingPlatformIs400) {  // checklist 2
  auto h = valid_request().remove("expo-platform");
  EXPECT_EQ(code_of(h), ErrorCode::kInvalidArgument);
  EXPECT_NE(message_of(h).find("expo-platform"), std::string::npos);
}

TEST(ManifestRequest, UnknownPlatformIs400NamingAllowedValues) {  // checklist 3
  for (const char* p : {"windows", "", "IOS", "Android", "ios ", " ios", "web"}) {
    auto h = valid_request().set("expo-platform", p);
    EXPECT_EQ(code_of(h), ErrorCode::kInvalidArgument) << p;
    std::string m = message_of(h);
    EXPECT_NE(m.find("expo-platform"), std::string::npos) << m;
    EXPECT_NE(m.find("ios"), std::string::npos) << m;
    EXPECT_NE(m.find("android"), std::string::npos) << m;
  }
}

TEST(ManifestRequest, MissingRuntimeVersionIs400) {  // checklist 4
  auto h = valid_request().remove("expo-runtime-version");
  EXPECT_EQ(code_of(h), ErrorCode::kInvalidArgument);
  EXPECT_NE(message_of(h).find("expo-runtime-version"), std::string::npos);
}

TEST(ManifestRequest, EmptyRuntimeVersionIs400) {  // checklist 4
  EXPECT_EQ(code_of(valid_request().set("expo-runtime-version", "")), ErrorCode::kInvalidArgument);
}

TEST(ManifestRequest, RuntimeVersionIsVerbatimNeverTrimmed) {  // checklist 24, 27
  for (const char* v :
       {"1.0.0 ", " 1.0.0", "exposdk:49.0.0", "2.3.1(45)", "0123456789abcdef0123456789abcdef01234567"}) {
    auto r = parse_manifest_request(valid_request().set("expo-runtime-version", v));
    ASSERT_TRUE(r) << v;
    EXPECT_EQ(r->runtime_version, v);
  }
}

TEST(ManifestRequest, TwoProtocolVersionLinesAre400) {  // checklist 5
  auto h = valid_request().add("expo-protocol-version", "1");
  EXPECT_EQ(code_of(h), ErrorCode::kInvalidArgument);
  EXPECT_NE(message_of(h).find("expo-protocol-version"), std::string::npos);
  // Even when they disagree, and whatever their case.
  EXPECT_EQ(code_of(valid_request().add("EXPO-PROTOCOL-VERSION", "0")), ErrorCode::kInvalidArgument);
}

TEST(ManifestRequest, NonIntegerProtocolVersionIs400) {  // checklist 6
  for (const char* v : {"abc", "", "1.0", "-1", "+1", "1a", "0x1", "one"}) {
    auto h = valid_request().set("expo-protocol-version", v);
    EXPECT_EQ(code_of(h), ErrorCode::kInvalidArgument) << v;
    EXPECT_NE(message_of(h).find("expo-protocol-version"), std::string::npos);
  }
}

TEST(ManifestRequest, ProtocolVersionAboveOneIs406) {  // checklist 7
  for (const char* v : {"2", "10", "99999999999999999999999999"}) {
    auto h = valid_request().set("expo-protocol-version", v);
    EXPECT_EQ(code_of(h), ErrorCode::kNotAcceptable) << v;
    EXPECT_NE(message_of(h).find("expo-protocol-version"), std::string::npos);
  }
}

TEST(ManifestRequest, AbsentProtocolVersionIsZero) {
  auto r = parse_manifest_request(valid_request().remove("expo-protocol-version"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->protocol_version, 0);
}

TEST(ManifestRequest, ExplicitProtocolVersionZeroAndOne) {
  auto zero = parse_manifest_request(valid_request().set("expo-protocol-version", "0"));
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->protocol_version, 0);
  auto one = parse_manifest_request(valid_request().set("expo-protocol-version", "1"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->protocol_version, 1);
}

TEST(ManifestRequest, HeaderNamesAreCaseInsensitive) {  // checklist 8
  FakeHeaders h{
      {"EXPO-PLATFORM", "android"},   {"expo-runtime-version", "2.0"}, {"Expo-Protocol-VERSION", "1"},
      {"ACCEPT", "application/json"}, {"expo-CHANNEL-name", "beta"},
  };
  auto r = parse_manifest_request(h);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->platform, model::Platform::kAndroid);
  EXPECT_EQ(r->runtime_version, "2.0");
  EXPECT_EQ(r->protocol_version, 1);
  EXPECT_EQ(r->format, ResponseFormat::kJson);
  EXPECT_EQ(r->channel, "beta");
}

// ---- IDs (checklist 9) ---------------------------------------------------------------------------

TEST(ManifestRequest, UpdateIdsAreLowerCased) {  // checklist 9
  auto r = parse_manifest_request(valid_request()
                                      .add("Expo-Current-Update-ID", "0F3C6F2E-3B3E-4A6B-9D1A-6A0B7B2C1D4E")
                                      .add("Expo-Embedded-Update-ID", "AbCdEf00-0000-4000-8000-000000000000"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->current_update_id, "0f3c6f2e-3b3e-4a6b-9d1a-6a0b7b2c1d4e");
  EXPECT_EQ(r->embedded_update_id, "abcdef00-0000-4000-8000-000000000000");
}

TEST(ManifestRequest, NonUuidIdsAreKeptLowerCased) {
  auto r = parse_manifest_request(valid_request().add("expo-current-update-id", "Not-A-UUID"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->current_update_id, "not-a-uuid");
}

TEST(ManifestRequest, OverlongIdsAreTreatedAsAbsent) {
  std::string at_cap(128, 'A'), over(129, 'a');
  auto r = parse_manifest_request(valid_request()
                                      .add("expo-current-update-id", at_cap)
                                      .add("expo-embedded-update-id", over)
                                      .set("eas-client-id", over));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->current_update_id, std::string(128, 'a'));
  EXPECT_FALSE(r->embedded_update_id);
  EXPECT_FALSE(r->client_id);
}

TEST(ManifestRequest, EmptyIdsAreAbsent) {
  auto r = parse_manifest_request(valid_request().add("expo-current-update-id", "").set("eas-client-id", ""));
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->current_update_id);
  EXPECT_FALSE(r->client_id);
}

TEST(ManifestRequest, ChannelIsVerbatim) {
  auto r = parse_manifest_request(valid_request().add("expo-channel-name", "Production "));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->channel, "Production ");
}

// ---- Accept (checklist 10-12) --------------------------------------------------------------------

TEST(ManifestRequest, TextHtmlOnlyAcceptIs406ListingProducibleFormats) {  // checklist 10
  auto h = valid_request().set("accept", "text/html");
  EXPECT_EQ(code_of(h), ErrorCode::kNotAcceptable);
  std::string m = message_of(h);
  EXPECT_NE(m.find("multipart/mixed"), std::string::npos) << m;
  EXPECT_NE(m.find("application/json"), std::string::npos) << m;
  EXPECT_NE(m.find("application/expo+json"), std::string::npos) << m;
}

TEST(ManifestRequest, NoAcceptMeansMultipart) {  // checklist 11
  auto r = parse_manifest_request(valid_request().remove("accept"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->format, ResponseFormat::kMultipart);
}

TEST(ManifestRequest, ApplicationJsonOnlyMeansJson) {  // checklist 12
  for (const char* a : {"application/json", "application/expo+json", "application/*"}) {
    auto r = parse_manifest_request(valid_request().set("accept", a));
    ASSERT_TRUE(r) << a;
    EXPECT_EQ(r->format, ResponseFormat::kJson) << a;
  }
}

TEST(ManifestRequest, ExcludingEverythingWithQZeroIs406) {
  auto h = valid_request().set("accept", "multipart/mixed;q=0, application/json;q=0, application/expo+json;q=0");
  EXPECT_EQ(code_of(h), ErrorCode::kNotAcceptable);
}

// ---- leniency (checklist 14, 15) -----------------------------------------------------------------

TEST(ManifestRequest, ArbitraryExtraParamsRecentFailedAndFatalErrorNeverError) {  // checklist 14
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> len(0, 300);
  auto junk = [&] {
    std::string s(len(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  for (int i = 0; i < 2000; ++i) {
    auto h = valid_request()
                 .add("Expo-Extra-Params", junk())
                 .add("Expo-Recent-Failed-Update-IDs", junk())
                 .add("Expo-Fatal-Error", junk());
    auto r = parse_manifest_request(h);
    ASSERT_TRUE(r) << r.error().message();
  }
  const std::vector<std::string> hostile = {"(((", "\"", "a=(", ",,,", "?", std::string(100000, '"')};
  for (const std::string& v : hostile) {
    auto h =
        valid_request().add("Expo-Extra-Params", v).add("Expo-Recent-Failed-Update-IDs", v).add("Expo-Fatal-Error", v);
    EXPECT_TRUE(parse_manifest_request(h));
  }
}

TEST(ManifestRequest, RecentFailedUpdateIdsAreParsedAndLowerCased) {
  auto r = parse_manifest_request(
      valid_request().add("Expo-Recent-Failed-Update-IDs", R"("7B0F0000-0000-4000-8000-000000000001", "1a2c")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->recent_failed_update_ids, (std::vector<std::string>{"7b0f0000-0000-4000-8000-000000000001", "1a2c"}));
}

TEST(ManifestRequest, UnparsableRecentFailedUpdateIdsAreEmpty) {
  for (const char* v : {"7b0f,", "\"unterminated", "(\"a\")", "\"a\" \"b\""}) {
    auto r = parse_manifest_request(valid_request().add("Expo-Recent-Failed-Update-IDs", v));
    ASSERT_TRUE(r) << v;
    EXPECT_TRUE(r->recent_failed_update_ids.empty()) << v;
  }
}

TEST(ManifestRequest, RecentFailedKeepsOnlyStrings) {
  auto r = parse_manifest_request(valid_request().add("Expo-Recent-Failed-Update-IDs", R"(tok, "a", 5, "B")"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->recent_failed_update_ids, (std::vector<std::string>{"a", "b"}));
}

TEST(ManifestRequest, ExpectSignatureTrueStillSigns) {  // checklist 15
  for (const char* v : {"true", "", "(((garbage", "sig"}) {
    auto r = parse_manifest_request(valid_request().add("expo-expect-signature", v));
    ASSERT_TRUE(r) << v;
    EXPECT_TRUE(r->expects_signature) << v;
    EXPECT_FALSE(r->expected_keyid) << v;
  }
}

TEST(ManifestRequest, ExpectSignatureKeyidIsRead) {
  auto r = parse_manifest_request(
      valid_request().add("expo-expect-signature", R"(sig, keyid="main", alg="rsa-v1_5-sha256")"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->expects_signature);
  EXPECT_EQ(r->expected_keyid, "main");
}

TEST(ManifestRequest, ExpectSignatureKeyidMustBeAString) {
  auto r = parse_manifest_request(valid_request().add("expo-expect-signature", "sig, keyid=main"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->expects_signature);
  EXPECT_FALSE(r->expected_keyid);
}

TEST(ManifestRequest, ExpectSignatureCaseInsensitiveName) {
  auto r = parse_manifest_request(valid_request().add("Expo-Expect-Signature", R"(keyid="root")"));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->expects_signature);
  EXPECT_EQ(r->expected_keyid, "root");
}

// ---- negotiate_format ----------------------------------------------------------------------------

TEST(NegotiateFormat, WhatClientsSendIsMultipart) {
  EXPECT_EQ(negotiate_format("multipart/mixed,application/expo+json,application/json"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, WildcardsAllowMultipart) {
  EXPECT_EQ(negotiate_format("*/*"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/*"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("MULTIPART/MIXED"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, JsonTypes) {
  EXPECT_EQ(negotiate_format("application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("application/expo+json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("application/*"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("Application/JSON; charset=utf-8"), ResponseFormat::kJson);
}

TEST(NegotiateFormat, NeitherIsNullopt) {
  EXPECT_EQ(negotiate_format("text/html"), std::nullopt);
  EXPECT_EQ(negotiate_format("text/*, image/png"), std::nullopt);
  EXPECT_EQ(negotiate_format("multipart/form-data"), std::nullopt);
  EXPECT_EQ(negotiate_format("application/xml"), std::nullopt);
  EXPECT_EQ(negotiate_format("garbage"), std::nullopt);
  EXPECT_EQ(negotiate_format(",,,"), std::nullopt);
}

TEST(NegotiateFormat, EmptyAcceptIsLikeAbsent) {
  EXPECT_EQ(negotiate_format(""), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("  "), ResponseFormat::kMultipart);
}

// Checklist 115: multipart whenever it is acceptable, whatever the weights.
TEST(NegotiateFormat, MultipartWheneverAcceptableEvenAtALowerQuality_C115) {
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0.5, application/json"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0.9, application/json;q=0.8"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("application/json;q=0.001, multipart/mixed;q=0.002"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, MultipartWinsTies) {
  EXPECT_EQ(negotiate_format("application/json, multipart/mixed"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("application/json;q=0.5, multipart/mixed;q=0.5"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, QZeroExcludes) {
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0, application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0"), std::nullopt);
  EXPECT_EQ(negotiate_format("*/*;q=0"), std::nullopt);
  EXPECT_EQ(negotiate_format("multipart/mixed; q=0.000"), std::nullopt);
}

TEST(NegotiateFormat, MostSpecificRangeDecides) {
  // */* allows everything, but the specific range excludes multipart.
  EXPECT_EQ(negotiate_format("*/*, multipart/mixed;q=0"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0, */*"), ResponseFormat::kJson);
  // multipart/* excluded, but the exact type re-allows it.
  EXPECT_EQ(negotiate_format("multipart/*;q=0, multipart/mixed;q=0.1"), ResponseFormat::kMultipart);
  // application/json excluded; application/expo+json still allowed through application/*.
  EXPECT_EQ(negotiate_format("application/*, application/json;q=0"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("application/*;q=0.9, */*;q=0.1"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, MalformedParametersAreIgnored) {
  EXPECT_EQ(negotiate_format("multipart/mixed;q=abc"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=2"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=0.5000"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;q"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;;;"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;q=1.001, application/json;q=0.5"), ResponseFormat::kMultipart);
  EXPECT_EQ(negotiate_format("multipart/mixed;Q=0.1, application/json;q=0.5"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, QuotedParameterValuesMayContainCommasAndSemicolons) {
  EXPECT_EQ(negotiate_format(R"(text/html;x="a,multipart/mixed;b", application/json)"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format(R"(application/json;x="\",q=0", text/plain)"), ResponseFormat::kJson);
}

TEST(NegotiateFormat, MalformedRangesAreSkipped) {
  EXPECT_EQ(negotiate_format("*/json, application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("multipart, application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("/mixed, application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("multipart/mixed garbage, application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("multipart/mixed; q=0.5 ,application/json;q=0.4"), ResponseFormat::kMultipart);
}

TEST(NegotiateFormat, HostileInputIsLinearAndSafe) {
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "text/html;q=0.5,";
  EXPECT_EQ(negotiate_format(many), std::nullopt);
  EXPECT_EQ(negotiate_format(many + "application/json"), ResponseFormat::kJson);
  EXPECT_EQ(negotiate_format("text/html;x=\"" + std::string(100000, 'a')), std::nullopt);
  std::mt19937 rng(7);
  const std::string alphabet = "*/;=,\"\\ qa0.1mpj";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string s(i % 40, '\0');
    for (char& c : s) c = alphabet[pick(rng)];
    (void)negotiate_format(s);
  }
}

}  // namespace
}  // namespace ota::expo
