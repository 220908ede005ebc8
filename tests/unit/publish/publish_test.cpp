#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "publish/content_types.h"
#include "publish/export_reader.h"
#include "publish/publisher.h"
#include "publish/runtime_version.h"

namespace ota::publish {
namespace {

using nlohmann::json;
using model::Platform;

std::string rv(const json& config, Platform p = Platform::kIos) {
  auto r = resolve_runtime_version(config, p);
  return r ? *r : "error: " + r.error().message();
}

TEST(RuntimeVersion, PlainStringAndPlatformOverride) {
  EXPECT_EQ(rv({{"runtimeVersion", "2.0.0"}}), "2.0.0");
  json c = {{"runtimeVersion", "2.0.0"}, {"android", {{"runtimeVersion", "2.0.1"}}}};
  EXPECT_EQ(rv(c, Platform::kIos), "2.0.0");
  EXPECT_EQ(rv(c, Platform::kAndroid), "2.0.1");
}

TEST(RuntimeVersion, Policies) {
  json app = {{"version", "1.2.0"},
              {"sdkVersion", "57.0.0"},
              {"ios", {{"buildNumber", "45"}}},
              {"android", {{"versionCode", 7}, {"version", "1.2.1"}}}};
  app["runtimeVersion"] = {{"policy", "appVersion"}};
  EXPECT_EQ(rv(app, Platform::kIos), "1.2.0");
  EXPECT_EQ(rv(app, Platform::kAndroid), "1.2.1");
  app["runtimeVersion"] = {{"policy", "nativeVersion"}};
  EXPECT_EQ(rv(app, Platform::kIos), "1.2.0(45)");
  EXPECT_EQ(rv(app, Platform::kAndroid), "1.2.0(7)");
  app["runtimeVersion"] = {{"policy", "sdkVersion"}};
  EXPECT_EQ(rv(app), "exposdk:57.0.0");
  EXPECT_EQ(rv({{"runtimeVersion", {{"policy", "appVersion"}}}}), "1.0.0");  // no version at all
}

TEST(RuntimeVersion, WhatOnlyTheBuildKnowsIsRefusedWithTheCommandToRun) {
  EXPECT_NE(rv({{"runtimeVersion", {{"policy", "fingerprint"}}}}).find("runtimeversion:resolve"), std::string::npos);
  EXPECT_NE(rv({{"runtimeVersion", "file:fingerprint"}}).find("--runtime-version"), std::string::npos);
  EXPECT_NE(rv({{"runtimeVersion", {{"policy", "nope"}}}}).find("unknown runtimeVersion policy"), std::string::npos);
  EXPECT_NE(rv(json::object()).find("no runtimeVersion"), std::string::npos);
}

TEST(RuntimeVersion, MatchesTheFixture) {
  json fixture = json::parse(
      R"({"name":"otaserver-fixture","version":"1.0.0","runtimeVersion":{"policy":"appVersion"},"sdkVersion":"57.0.0"})");
  EXPECT_EQ(rv(fixture, Platform::kIos), "1.0.0");
  EXPECT_EQ(rv(fixture, Platform::kAndroid), "1.0.0");
}

constexpr const char* kFixtureMetadata =
    R"({"version":0,"bundler":"metro","fileMetadata":{"android":{"bundle":"_expo/static/js/android/index-54095acc0c7442ed000b8b1a2ddfa839.hbc","assets":[{"path":"assets/7913e48d52e61fcc9823816c926d3e49","ext":"ttf"},{"path":"assets/80bd4ce093d278942e6d8a6765856727","ext":"png"}]},"ios":{"bundle":"_expo/static/js/ios/index-000dfc82b1665c364b8ef524267183d8.hbc","assets":[{"path":"assets/7913e48d52e61fcc9823816c926d3e49","ext":"ttf"},{"path":"assets/80bd4ce093d278942e6d8a6765856727","ext":"png"}]}}})";

TEST(ExportMetadata, ParsesTheFixtureInAFixedPlatformOrder) {
  auto m = parse_export_metadata(kFixtureMetadata);
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].platform, Platform::kIos);  // android comes first in the file
  EXPECT_EQ((*m)[0].bundle.ext, "hbc");
  ASSERT_EQ((*m)[1].assets.size(), 2u);
  EXPECT_EQ((*m)[1].assets[1].ext, "png");
}

std::string metadata_error(const std::string& text) {
  auto m = parse_export_metadata(text);
  return m ? std::string("accepted") : m.error().message();
}

std::string with_asset_path(const std::string& path) {
  return R"({"version":0,"bundler":"metro","fileMetadata":{"ios":{"bundle":"b.js","assets":[{"path":")" + path +
         R"(","ext":"png"}]}}})";
}

TEST(ExportMetadata, RefusesPathsThatEscapeTheExport) {
  for (const char* bad : {"../etc/passwd", "/etc/passwd", "assets/../../x", "a\\\\b", "a//b", "./a", ""}) {
    std::string e = metadata_error(with_asset_path(bad));
    EXPECT_NE(e, "accepted") << bad;
    EXPECT_NE(e.find("metadata.json"), std::string::npos) << e;
  }
  EXPECT_EQ(metadata_error(with_asset_path("assets/abc")), "accepted");
}

TEST(ExportMetadata, RefusesWrongVersionBundlerPlatformAndShapes) {
  EXPECT_NE(metadata_error(R"({"version":1,"bundler":"metro","fileMetadata":{}})").find("version"), std::string::npos);
  EXPECT_NE(metadata_error(R"({"version":0,"bundler":"webpack","fileMetadata":{}})").find("bundler"), std::string::npos);
  EXPECT_NE(metadata_error(R"({"version":0,"bundler":"metro","fileMetadata":{"windows":{"bundle":"b"}}})"),
            "accepted");
  EXPECT_NE(metadata_error(R"({"version":0,"bundler":"metro","fileMetadata":{}})"), "accepted");
  EXPECT_NE(metadata_error("not json"), "accepted");
  EXPECT_NE(metadata_error(R"({"version":0,"bundler":"metro","fileMetadata":{"ios":{"bundle":"b.js","assets":[{"path":"a","ext":".png"}]}}})"),
            "accepted");
  std::string deep(100, '[');
  EXPECT_NE(metadata_error(deep + std::string(100, ']')), "accepted");
  // web is ignored, not refused
  EXPECT_EQ(metadata_error(R"({"version":0,"bundler":"metro","fileMetadata":{"web":{},"ios":{"bundle":"b.js"}}})"),
            "accepted");
}

TEST(ExportMetadata, ReadsAndHashesTheRealFixture) {
  auto plan = read_export(OTA_FIXTURE_DIR "/update1");
  ASSERT_TRUE(plan) << plan.error().message();
  EXPECT_EQ(plan->files.size(), 4u);  // two bundles, and the two shared assets once
  const ExportFile* png = plan->file("assets/80bd4ce093d278942e6d8a6765856727");
  ASSERT_NE(png, nullptr);
  EXPECT_EQ(png->sha256.base64url(), "8SIvL4tNdJx67XVtiPlxYf85rBcHpHaFcuPjkyP2sIY");
  EXPECT_EQ(png->size, 4898u);
  auto ios_only = read_export(OTA_FIXTURE_DIR "/update1", Platform::kIos);
  ASSERT_TRUE(ios_only);
  EXPECT_EQ(ios_only->platforms.size(), 1u);
  EXPECT_EQ(ios_only->files.size(), 3u);
}

TEST(CommitRequest, ValidatesEveryField) {
  const std::string sha = "8SIvL4tNdJx67XVtiPlxYf85rBcHpHaFcuPjkyP2sIY";
  json ok = {{"platforms", {{"ios", {{"runtime_version", "1.0.0"}, {"launch_asset", {{"sha256", sha}, {"ext", "hbc"}}}}}}}};
  ASSERT_TRUE(parse_commit_request("a", ok.dump()));
  auto bad = [&](json j) {
    auto r = parse_commit_request("a", j.dump());
    return r ? std::string("accepted") : r.error().message();
  };
  json j = ok;
  j["platforms"]["ios"]["runtime_version"] = " 1.0.0";
  EXPECT_NE(bad(j).find("space"), std::string::npos);
  j = ok;
  j["platforms"]["web"] = ok["platforms"]["ios"];
  EXPECT_NE(bad(j).find("unknown platform"), std::string::npos);
  j = ok;
  j["platforms"]["ios"]["launch_asset"]["sha256"] = "short";
  EXPECT_NE(bad(j).find("base64url"), std::string::npos);
  j = ok;
  j["rollout_percent"] = 101;
  EXPECT_NE(bad(j).find("rollout_percent"), std::string::npos);
  j = ok;
  j["metadata"] = {{"k", 1}};
  EXPECT_NE(bad(j).find("strings"), std::string::npos);
  j = ok;
  j["message"] = std::string(2000, 'x');
  EXPECT_NE(bad(j), "accepted");
  EXPECT_NE(bad(json::array()), "accepted");
}

TEST(ContentTypes, FromAnAllowlistByExtension) {
  EXPECT_EQ(content_type_for("png"), "image/png");
  EXPECT_EQ(content_type_for("PNG"), "image/png");
  EXPECT_EQ(content_type_for("hbc"), "application/javascript");
  EXPECT_EQ(content_type_for("exe"), "application/octet-stream");
  EXPECT_FALSE(valid_extension(".png"));
  EXPECT_FALSE(valid_extension(""));
  EXPECT_TRUE(valid_extension("woff2"));
}

}  // namespace
}  // namespace ota::publish
