// Staging -> production without shared credentials: `otaserver promote` copies a group with a
// token for each server, verifying every file, and a second run changes nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "server_process.h"
#include "support/temp_dir.h"

namespace ota::testing {
namespace {

using nlohmann::json;

const std::string kFixture = OTA_FIXTURE_DIR;

std::string admin_token(const std::filesystem::path& data) {
  auto t = run_otaserver({"token", "create", "--data", data.string(), "--name", "t", "--scope", "admin"});
  EXPECT_EQ(t.exit_code, 0) << t.err;
  return t.out.substr(0, t.out.find('\n'));
}

TEST(Promote, CopiesAGroupBetweenServersOnceWithEveryFileVerified) {
  TempDir tmp;
  auto staging = ServerProcess::start(tmp / "staging");
  auto production = ServerProcess::start(tmp / "production");
  ASSERT_TRUE(staging && production);
  std::string ts = admin_token(tmp / "staging"), tp = admin_token(tmp / "production");
  ASSERT_EQ(run_otaserver({"app", "create", "shop", "--server", staging->base_url()}, {{"OTA_TOKEN", ts}}).exit_code, 0);
  ASSERT_EQ(run_otaserver({"app", "create", "shop", "--server", production->base_url()}, {{"OTA_TOKEN", tp}}).exit_code, 0);
  auto pub = run_otaserver({"publish", "--server", staging->base_url(), "--dist", kFixture + "/update1", "--app", "shop",
                            "--expo-config", kFixture + "/expoConfig.json", "--message", "release candidate", "--json"},
                           {{"OTA_TOKEN", ts}});
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  std::string group = json::parse(pub.out)["group_id"];

  std::vector<std::string> args = {"promote", "--from", staging->base_url(), "--to", production->base_url(), "--app",
                                   "shop", "--group", group};
  std::vector<std::pair<std::string, std::string>> env = {{"OTA_FROM_TOKEN", ts}, {"OTA_TO_TOKEN", tp}};
  auto first = run_otaserver(args, env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("promoted group " + group), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("4 of 4 files copied"), std::string::npos) << first.out;
  auto second = run_otaserver(args, env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("already promoted"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("0 of 4 files copied"), std::string::npos) << second.out;

  auto list = production->client().Get("/api/v1/apps/shop/updates", {{"Authorization", "Bearer " + tp}});
  ASSERT_TRUE(list && list->status == 200);
  const json updates = json::parse(list->body)["updates"];
  ASSERT_EQ(updates.size(), 2u);  // one group, two platforms
  EXPECT_EQ(updates[0]["message"], "release candidate");

  // Production serves the same bundle bytes under its own URL.
  for (const char* platform : {"ios", "android"}) {
    auto m = production->client().Get("/apps/shop/manifest", {{"expo-platform", platform},
                                                              {"expo-runtime-version", "1.0.0"},
                                                              {"accept", "application/json"}});
    ASSERT_TRUE(m && m->status == 200);
    json manifest = json::parse(m->body);
    std::string url = manifest["launchAsset"]["url"];
    EXPECT_EQ(url.rfind(production->base_url(), 0), 0u) << url;
    auto bundle = production->client().Get(url.substr(production->base_url().size()));
    ASSERT_TRUE(bundle && bundle->status == 200);
    EXPECT_EQ(crypto::sha256(bundle->body).base64url(), manifest["launchAsset"]["hash"]);
  }

  // A read-only token on the target cannot be used to publish there.
  auto read_only = run_otaserver({"token", "create", "--data", (tmp / "production").string(), "--name", "ro",
                                  "--scope", "read"});
  auto refused = run_otaserver(args, {{"OTA_FROM_TOKEN", ts}, {"OTA_TO_TOKEN", read_only.out.substr(0, read_only.out.find('\n'))}});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("403"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace ota::testing
