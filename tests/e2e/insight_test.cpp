// The admin page's server side and what operators read: sign-in sessions and CSRF, the page's
// headers, tokens and the audit log over the API, adoption counted from device traffic, the
// "why does this device get that" explainer (held to agreement with the manifest endpoint), and
// GET /metrics read by a strict Prometheus text-format parser (and by promtool when OTA_PROMTOOL
// names one). Every test runs the real binary on the published seed (expo_test_support.h).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "expo_test_support.h"
#include "server_process.h"
#include "support/prometheus_parser.h"
#include "support/temp_dir.h"
#include "test_util.h"

namespace ota::testing {
namespace {

using expo::ExpoSuite;
using expo::Headers;
using expo::HttpResponse;
using nlohmann::json;

json body_json(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

// A signed-in admin page: the session cookie and the CSRF token from POST /api/v1/session.
struct Browser {
  std::string cookie;  // "ota_session=..."
  std::string csrf;
  std::string set_cookie;
};

std::optional<Browser> sign_in(const expo::ExpoServer& server, const std::string& token) {
  auto r = expo::http_request(server.port(), "POST", "/api/v1/session", {{"Content-Type", "application/json"}},
                              json{{"token", token}}.dump());
  EXPECT_EQ(r.status, 200) << r.head << r.body;
  if (r.status != 200) return std::nullopt;
  Browser b;
  b.set_cookie = r.header_or("set-cookie");
  b.cookie = b.set_cookie.substr(0, b.set_cookie.find(';'));
  b.csrf = body_json(r)["csrf_token"];
  return b;
}

HttpResponse page_call(const expo::ExpoServer& server, const Browser& b, std::string_view method,
                       std::string_view target, const json& body = nullptr, bool with_csrf = true) {
  Headers h = {{"Cookie", b.cookie}};
  if (with_csrf) h.emplace_back("X-CSRF-Token", b.csrf);
  if (!body.is_null()) h.emplace_back("Content-Type", "application/json");
  return expo::http_request(server.port(), method, target, h, body.is_null() ? "" : body.dump());
}

// The manifest's id (or the directive type) a device is told right now.
std::string served_id(const expo::ExpoServer& server, std::string_view app, const Headers& headers) {
  auto a = server.manifest(app, headers);
  if (a.status() != 200) return "status " + std::to_string(a.status());
  if (auto m = a.part_json("manifest"); m.is_object()) return m["id"];
  if (auto d = a.part_json("directive"); d.is_object()) return "directive:" + d["type"].get<std::string>();
  return "unparsed";
}

Headers device_with(std::string_view platform, const std::vector<std::pair<std::string, std::string>>& extra) {
  Headers h = expo::device(platform);
  for (const auto& [k, v] : extra) h = expo::with(h, k, v);
  return h;
}

// ---- sessions and CSRF ---------------------------------------------------------------------------

class AdminSession : public ExpoSuite {};

TEST_F(AdminSession, SignInSetsAStrictHttpOnlyCookieAndABadTokenGetsNone) {
  auto bad = expo::http_request(server().port(), "POST", "/api/v1/session", {{"Content-Type", "application/json"}},
                                R"({"token":"ota_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"})");
  expo::expect_json_error(bad, 401);
  EXPECT_FALSE(bad.header("set-cookie"));
  auto not_json = expo::http_request(server().port(), "POST", "/api/v1/session", {}, "token=x");
  expo::expect_json_error(not_json, 400);

  auto b = sign_in(server(), server().token());
  ASSERT_TRUE(b);
  EXPECT_TRUE(std::regex_search(b->set_cookie, std::regex("^ota_session=[A-Za-z0-9_-]{43}; ")));
  EXPECT_NE(b->set_cookie.find("; HttpOnly"), std::string::npos) << b->set_cookie;
  EXPECT_NE(b->set_cookie.find("; SameSite=Strict"), std::string::npos) << b->set_cookie;
  EXPECT_NE(b->set_cookie.find("; Path=/"), std::string::npos) << b->set_cookie;
  EXPECT_NE(b->set_cookie.find("; Max-Age=43200"), std::string::npos) << b->set_cookie;
  EXPECT_EQ(b->csrf.size(), 43u);

  auto who = page_call(server(), *b, "GET", "/api/v1/session");
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(body_json(who)["token"]["scope"], "admin");
  EXPECT_EQ(body_json(who)["csrf_token"], b->csrf);
  // The cookie alone reads the API the page needs.
  EXPECT_EQ(page_call(server(), *b, "GET", "/api/v1/apps", nullptr, false).status, 200);
}

TEST_F(AdminSession, ChangesWithoutTheCsrfTokenAreRefusedAndChangeNothing) {
  auto b = sign_in(server(), server().token());
  ASSERT_TRUE(b);
  auto apps_before = page_call(server(), *b, "GET", "/api/v1/apps").body;

  auto no_csrf = page_call(server(), *b, "POST", "/api/v1/apps", json{{"name", "evil"}}, false);
  expo::expect_json_error(no_csrf, 403);
  EXPECT_NE(body_json(no_csrf)["message"].get<std::string>().find("X-CSRF-Token"), std::string::npos);
  Browser forged = *b;
  forged.csrf = std::string(43, 'A');
  expo::expect_json_error(page_call(server(), forged, "POST", "/api/v1/apps", json{{"name", "evil"}}), 403);
  expo::expect_json_error(page_call(server(), forged, "PATCH",
                                    "/api/v1/apps/rollout/updates/" +
                                        server().info()["apps"]["rollout"]["update2"]["group"].get<std::string>(),
                                    json{{"rollout_percent", 100}}),
                          403);
  EXPECT_EQ(page_call(server(), *b, "GET", "/api/v1/apps").body, apps_before);

  auto ok = page_call(server(), *b, "POST", "/api/v1/apps", json{{"name", "fromthepage"}});
  EXPECT_EQ(ok.status, 201) << ok.body;
  // The audit log names the token behind the session.
  auto audit = body_json(page_call(server(), *b, "GET", "/api/v1/audit?limit=1"));
  EXPECT_EQ(audit["entries"][0]["action"], "app.create");
  EXPECT_EQ(audit["entries"][0]["target"], "fromthepage");
}

TEST_F(AdminSession, SignOutAndRevocationEndTheSession) {
  // A second admin token, so revoking it leaves the seed's token working.
  auto created = server().api("POST", "/api/v1/tokens", {{"name", "page"}, {"scope", "admin"}});
  ASSERT_EQ(created.status, 201) << created.body;
  std::string secret = body_json(created)["token"];
  std::string id = body_json(created)["info"]["id"];

  auto first = sign_in(server(), secret);
  auto second = sign_in(server(), secret);
  ASSERT_TRUE(first && second);
  ASSERT_NE(first->cookie, second->cookie);

  auto out = page_call(server(), *first, "DELETE", "/api/v1/session");
  EXPECT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.header_or("set-cookie").find("Max-Age=0"), std::string::npos);
  expo::expect_json_error(page_call(server(), *first, "GET", "/api/v1/session"), 401);
  EXPECT_EQ(page_call(server(), *second, "GET", "/api/v1/session").status, 200);

  auto revoked = server().api("DELETE", "/api/v1/tokens/" + id, nullptr);
  EXPECT_EQ(revoked.status, 200) << revoked.body;
  expo::expect_json_error(page_call(server(), *second, "GET", "/api/v1/apps"), 401);
}

TEST_F(AdminSession, ScopeOfTheTokenAppliesThroughTheSession) {
  auto created = server().api("POST", "/api/v1/tokens", {{"name", "reader"}, {"scope", "read"}});
  ASSERT_EQ(created.status, 201);
  auto b = sign_in(server(), body_json(created)["token"]);
  ASSERT_TRUE(b);
  EXPECT_EQ(page_call(server(), *b, "GET", "/api/v1/apps/demo/updates").status, 200);
  expo::expect_json_error(page_call(server(), *b, "POST", "/api/v1/apps", json{{"name", "x"}}), 403);
  expo::expect_json_error(page_call(server(), *b, "GET", "/api/v1/tokens"), 403);
  expo::expect_json_error(page_call(server(), *b, "GET", "/api/v1/audit"), 403);
}

TEST_F(AdminSession, OversizedSignInBodyIsRefusedBeforeItIsRead) {
  auto r = expo::http_request(server().port(), "POST", "/api/v1/session", {{"Content-Type", "application/json"}},
                              std::string(8192, ' '));
  expo::expect_json_error(r, 413);
}

// ---- the page itself --------------------------------------------------------------------------------

class AdminPage : public ExpoSuite {};

TEST_F(AdminPage, IsServedFromTheBinaryWithAStrictPolicy) {
  auto page = server().get("/admin/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header_or("content-type"), "text/html; charset=utf-8");
  std::string csp = page.header_or("content-security-policy");
  for (const char* directive :
       {"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"}) {
    EXPECT_NE(csp.find(directive), std::string::npos) << csp;
  }
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(page.header_or("x-content-type-options"), "nosniff");
  EXPECT_EQ(page.header_or("x-frame-options"), "DENY");
  EXPECT_NE(page.body.find("<!doctype html>"), std::string::npos);

  auto again = server().get("/admin/", {{"If-None-Match", page.header_or("etag")}});
  EXPECT_EQ(again.status, 304);
  auto redirect = server().get("/admin");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.header_or("location"), "/admin/");
  expo::expect_json_error(server().get("/admin/nothing-here.js"), 404);
  auto post = expo::http_request(server().port(), "POST", "/admin/", {}, "");
  EXPECT_EQ(post.status, 405);
}

// ---- tokens and the audit log -------------------------------------------------------------------------

class AdminApi : public ExpoSuite {};

TEST_F(AdminApi, TokenSecretIsShownOnceAndWorksUntilRevoked) {
  auto created = server().api("POST", "/api/v1/tokens",
                              {{"name", "ci"}, {"scope", "publish"}, {"app", "demo"}, {"expires_in_days", 30}});
  ASSERT_EQ(created.status, 201) << created.body;
  json info = body_json(created)["info"];
  std::string secret = body_json(created)["token"];
  EXPECT_TRUE(secret.starts_with("ota_" + info["id"].get<std::string>() + "_"));
  EXPECT_EQ(info["scope"], "publish");
  EXPECT_EQ(info["app"], "demo");
  EXPECT_TRUE(info["expires_at_ms"].is_number());

  auto list = server().get("/api/v1/tokens", {{"Authorization", "Bearer " + server().token()}});
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(secret.substr(18)), std::string::npos) << "the secret must never be listed";
  bool listed = false;
  json tokens = body_json(list)["tokens"];
  for (const auto& t : tokens) listed = listed || t["id"] == info["id"];
  EXPECT_TRUE(listed);

  EXPECT_EQ(server().get("/api/v1/apps/demo/updates", {{"Authorization", "Bearer " + secret}}).status, 200);
  // Bound to demo: other apps and the token list are out of reach.
  expo::expect_json_error(server().get("/api/v1/apps/plain/updates", {{"Authorization", "Bearer " + secret}}), 403);
  expo::expect_json_error(server().get("/api/v1/tokens", {{"Authorization", "Bearer " + secret}}), 403);

  EXPECT_EQ(server().api("DELETE", "/api/v1/tokens/" + info["id"].get<std::string>(), nullptr).status, 200);
  expo::expect_json_error(server().get("/api/v1/apps/demo/updates", {{"Authorization", "Bearer " + secret}}), 401);
  expo::expect_json_error(server().api("DELETE", "/api/v1/tokens/AAAAAAAAAAAA", nullptr), 404);
}

TEST_F(AdminApi, BadTokenRequestsSayWhatIsWrongAndCreateNothing) {
  auto before = body_json(server().get("/api/v1/tokens", {{"Authorization", "Bearer " + server().token()}}));
  expo::expect_json_error(server().api("POST", "/api/v1/tokens", {{"scope", "admin"}}), 400);
  expo::expect_json_error(server().api("POST", "/api/v1/tokens", {{"name", "x"}, {"scope", "root"}}), 400);
  expo::expect_json_error(server().api("POST", "/api/v1/tokens", {{"name", "x"}, {"expires_in_days", 0}}), 400);
  expo::expect_json_error(server().api("POST", "/api/v1/tokens", {{"name", "x"}, {"app", "nope"}}), 404);
  auto after = body_json(server().get("/api/v1/tokens", {{"Authorization", "Bearer " + server().token()}}));
  EXPECT_EQ(before, after);
}

TEST_F(AdminApi, AuditLogPagesNewestFirstAndFiltersByApp) {
  std::string group = server().info()["apps"]["rollout"]["update2"]["group"];
  ASSERT_EQ(server().api("PATCH", "/api/v1/apps/rollout/updates/" + group, {{"rollout_percent", 20}}).status, 200);
  ASSERT_EQ(server().api("PATCH", "/api/v1/apps/rollout/updates/" + group, {{"rollout_percent", 30}}).status, 200);
  Headers auth = {{"Authorization", "Bearer " + server().token()}};

  auto page1 = body_json(server().get("/api/v1/audit?limit=2&app=rollout", auth));
  ASSERT_EQ(page1["entries"].size(), 2u) << page1.dump();
  EXPECT_EQ(page1["entries"][0]["action"], "update.rollout");
  EXPECT_EQ(page1["entries"][0]["detail"]["percent"], 30) << page1.dump();
  EXPECT_EQ(page1["entries"][1]["detail"]["percent"], 20) << page1.dump();
  ASSERT_TRUE(page1["next_before"].is_number());
  auto page2 = body_json(server().get(
      "/api/v1/audit?limit=2&app=rollout&before=" + std::to_string(page1["next_before"].get<int64_t>()), auth));
  ASSERT_FALSE(page2["entries"].empty());
  EXPECT_LT(page2["entries"][0]["id"].get<int64_t>(), page1["entries"][1]["id"].get<int64_t>());
  for (const auto& e : page2["entries"]) EXPECT_EQ(e["app"], "rollout");

  expo::expect_json_error(server().get("/api/v1/audit?limit=0", auth), 400);
  expo::expect_json_error(server().get("/api/v1/audit?limit=abc", auth), 400);
  expo::expect_json_error(server().get("/api/v1/audit?app=nope", auth), 404);
}

// ---- adoption ----------------------------------------------------------------------------------------

class Adoption : public ExpoSuite {
 protected:
  json adoption(const std::string& app) {
    auto r =
        server().get("/api/v1/apps/" + app + "/adoption?days=7", {{"Authorization", "Bearer " + server().token()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return body_json(r);
  }
  static const json* find(const json& report, const std::string& id) {
    for (const auto& u : report["updates"]) {
      if (u["id"] == id) return &u;
    }
    return nullptr;
  }
};

TEST_F(Adoption, CountsManifestsInstallsDevicesAndReportedFailuresPerUpdateAndDay) {
  std::string update1 = server().update_id("demo", "update1", "ios");
  std::string update2 = server().update_id("demo", "update2", "ios");
  auto devices = random_uuids(5, 606);
  std::string launch_path;
  for (const auto& id : devices) {
    auto a = server().manifest("demo", device_with("ios", {{"EAS-Client-ID", id}}));
    ASSERT_EQ(a.status(), 200);
    launch_path = expo::url_path(a.part_json("manifest")["launchAsset"]["url"].get<std::string>());
  }
  // Two devices download the launch asset (installs); a HEAD and a 304 are not installs.
  for (int i = 0; i < 2; ++i) {
    auto r = server().get(launch_path, {{"EAS-Client-ID", devices[static_cast<size_t>(i)]}});
    ASSERT_EQ(r.status, 200);
  }
  auto head = expo::http_request(server().port(), "HEAD", launch_path);
  EXPECT_EQ(head.status, 200);
  auto etag = server().get(launch_path).header_or("etag");  // a third install
  EXPECT_EQ(server().get(launch_path, {{"If-None-Match", etag}}).status, 304);
  // One device reports update1 failed; the same device checks twice (one distinct device).
  for (int i = 0; i < 2; ++i) {
    server().manifest("demo", device_with("ios", {{"EAS-Client-ID", devices[4]},
                                                  {"Expo-Recent-Failed-Update-IDs", "\"" + update1 + "\""}}));
  }
  // A device on update1 checking in counts as a device on it; ids of nothing are ignored.
  server().manifest(
      "demo", device_with("ios", {{"EAS-Client-ID", "11111111-1111-4111-8111-111111111111"},
                                  {"Expo-Current-Update-ID", update1},
                                  {"Expo-Recent-Failed-Update-IDs", "\"00000000-0000-4000-8000-000000000000\""}}));

  json report = adoption("demo");
  ASSERT_EQ(report["days"].size(), 7u);
  const json* u2 = find(report, update2);
  ASSERT_TRUE(u2) << report.dump();
  EXPECT_EQ((*u2)["totals"]["served"], 8);  // 5 + 2 failure reporters + 1 device on update1
  EXPECT_EQ((*u2)["totals"]["downloads"], 3);
  EXPECT_EQ((*u2)["totals"]["devices"], 6);
  EXPECT_EQ((*u2)["series"].size(), 7u);
  EXPECT_EQ((*u2)["series"][6]["served"], 8);
  EXPECT_EQ((*u2)["series"][0]["served"], 0);
  const json* u1 = find(report, update1);
  ASSERT_TRUE(u1) << report.dump();
  EXPECT_EQ((*u1)["totals"]["failures"], 2);
  EXPECT_EQ((*u1)["totals"]["failed_devices"], 1);
  EXPECT_EQ((*u1)["totals"]["devices"], 1);
  std::printf("adoption for demo update2: %s\n", (*u2)["totals"].dump().c_str());
  auto cli = server().cli({"adoption", "--app", "demo", "--days", "7"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  std::printf("otaserver adoption:\n%s\n", cli.out.c_str());
  EXPECT_TRUE(std::regex_search(cli.out, std::regex("update +" + update2 + " +ios +1\\.0\\.0 +6 +8 +3 +0"))) << cli.out;
}

TEST_F(Adoption, CountsSurviveARestart) {
  std::string update2 = server().update_id("demo", "update2", "android");
  for (const auto& id : random_uuids(3, 707)) {
    ASSERT_EQ(server().manifest("demo", device_with("android", {{"EAS-Client-ID", id}})).status(), 200);
  }
  // SIGTERM writes what is still in memory before the stores close.
  ASSERT_TRUE(server().restart());
  json report = adoption("demo");
  const json* u = find(report, update2);
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)["totals"]["served"], 3);
  EXPECT_EQ((*u)["totals"]["devices"], 3);
}

// ---- the explainer -------------------------------------------------------------------------------------

class Explain : public ExpoSuite {
 protected:
  json explain(const std::string& app, const std::string& query) {
    auto r =
        server().get("/api/v1/apps/" + app + "/explain?" + query, {{"Authorization", "Bearer " + server().token()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return body_json(r);
  }
};

TEST_F(Explain, ADeviceOutsideATenPercentRolloutIsToldWhy) {
  std::string update1 = server().update_id("rollout", "update1", "ios");
  std::string update2 = server().update_id("rollout", "update2", "ios");
  // The first seeded device that the manifest endpoint keeps on update1.
  std::string outside;
  for (const auto& id : random_uuids(50, 1010)) {
    if (served_id(server(), "rollout", device_with("ios", {{"EAS-Client-ID", id}})) == update1) {
      outside = id;
      break;
    }
  }
  ASSERT_FALSE(outside.empty());
  json e = explain("rollout", "platform=ios&runtime_version=1.0.0&client_id=" + outside);
  std::printf("explain, device %s outside the 10%% rollout:\n%s\n", outside.c_str(), e.dump(2).c_str());
  EXPECT_EQ(e["outcome"], "manifest");
  EXPECT_EQ(e["update_id"], update1);
  ASSERT_GE(e["candidates"].size(), 2u);
  EXPECT_EQ(e["candidates"][0]["id"], update2);
  EXPECT_EQ(e["candidates"][0]["verdict"], "excluded");
  EXPECT_EQ(e["candidates"][0]["rollout_percent"], 10);
  EXPECT_NE(e["candidates"][0]["reason"].get<std::string>().find("outside the rollout"), std::string::npos);
  EXPECT_EQ(e["candidates"][1]["id"], update1);
  EXPECT_EQ(e["candidates"][1]["verdict"], "chosen");

  // The same through the CLI, as an operator would ask.
  auto cli = server().cli(
      {"explain", "--app", "rollout", "--platform", "ios", "--runtime-version", "1.0.0", "--client-id", outside});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  std::printf("otaserver explain:\n%s\n", cli.out.c_str());
  EXPECT_NE(cli.out.find("excluded    " + update2), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("chosen      " + update1), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("outside the rollout"), std::string::npos) << cli.out;
  auto missing = server().cli({"explain", "--app", "rollout", "--platform", "ios"});
  EXPECT_EQ(missing.exit_code, 64) << missing.out;  // EX_USAGE
  EXPECT_NE(missing.err.find("--runtime-version is required"), std::string::npos) << missing.err;

  json anonymous = explain("rollout", "platform=ios&runtime_version=1.0.0");
  EXPECT_EQ(anonymous["update_id"], update1);
  EXPECT_NE(anonymous["candidates"][0]["reason"].get<std::string>().find("without EAS-Client-ID"), std::string::npos);
}

TEST_F(Explain, AgreesWithTheManifestEndpointForEveryDevice) {
  int agreed = 0, in_rollout = 0;
  for (const auto& id : random_uuids(200, 2020)) {
    std::string served = served_id(server(), "rollout", device_with("android", {{"EAS-Client-ID", id}}));
    json e = explain("rollout", "platform=android&runtime_version=1.0.0&client_id=" + id);
    ASSERT_EQ(e["outcome"], "manifest");
    EXPECT_EQ(e["update_id"], served) << id;
    agreed += e["update_id"] == served;
    in_rollout += served == server().update_id("rollout", "update2", "android");
  }
  std::printf("explainer agreed with the manifest endpoint for %d/200 devices (%d inside the 10%% rollout)\n", agreed,
              in_rollout);
  // The devices already on the newest update are told so, as the endpoint would.
  std::string update2 = server().update_id("demo", "update2", "ios");
  json current = explain("demo", "platform=ios&runtime_version=1.0.0&current_update_id=" + update2);
  EXPECT_EQ(current["outcome"], "noUpdateAvailable");
  EXPECT_EQ(served_id(server(), "demo", device_with("ios", {{"Expo-Current-Update-ID", update2}})),
            "directive:noUpdateAvailable");
}

TEST_F(Explain, NamesDeactivatedUpdatesMissingChannelsAndUnservedRuntimeVersions) {
  std::string group2 = server().info()["apps"]["demo"]["update2"]["group"];
  ASSERT_EQ(server().api("PATCH", "/api/v1/apps/demo/updates/" + group2, {{"active", false}}).status, 200);
  json e = explain("demo", "platform=ios&runtime_version=1.0.0");
  EXPECT_EQ(e["update_id"], server().update_id("demo", "update1", "ios"));
  bool named = false;
  for (const auto& c : e["candidates"]) {
    if (c["id"] == server().update_id("demo", "update2", "ios")) {
      named = true;
      EXPECT_EQ(c["verdict"], "excluded");
      EXPECT_NE(c["reason"].get<std::string>().find("deactivated"), std::string::npos);
    }
  }
  EXPECT_TRUE(named) << e.dump(2);

  json channel = explain("demo", "platform=ios&runtime_version=1.0.0&channel=beta");
  EXPECT_EQ(channel["outcome"], "noUpdateAvailable");
  EXPECT_NE(channel["summary"].get<std::string>().find("\"beta\" does not exist"), std::string::npos);

  // Devices on a runtime version nothing is published for show up as unserved.
  for (int i = 0; i < 3; ++i) {
    server().manifest("demo", device_with("android", {{"Expo-Runtime-Version", "9.9.9"}}));
  }
  json runtime = explain("demo", "platform=android&runtime_version=9.9.9");
  EXPECT_EQ(runtime["outcome"], "noUpdateAvailable");
  bool fail_step = false;
  for (const auto& s : runtime["steps"]) {
    if (s["rule"] == "runtime version") {
      fail_step = s["result"] == "fail";
      EXPECT_NE(s["detail"].get<std::string>().find("\"1.0.0\""), std::string::npos) << s.dump();
    }
  }
  EXPECT_TRUE(fail_step);
  ASSERT_EQ(runtime["unserved_runtime_versions"].size(), 1u) << runtime.dump(2);
  EXPECT_EQ(runtime["unserved_runtime_versions"][0]["runtime_version"], "9.9.9");
  EXPECT_EQ(runtime["unserved_runtime_versions"][0]["checks"], 3);

  // The app-wide list marks each check-in served or not.
  server().manifest("demo", expo::device("ios"));
  auto listed = server().get("/api/v1/apps/demo/runtime-versions", {{"Authorization", "Bearer " + server().token()}});
  ASSERT_EQ(listed.status, 200);
  std::map<std::string, bool> served;
  json versions = body_json(listed)["runtime_versions"];
  for (const auto& v : versions)
    served[v["platform"].get<std::string>() + "/" + v["runtime_version"].get<std::string>()] = v["served"];
  EXPECT_EQ(served["android/9.9.9"], false) << versions.dump();
  EXPECT_EQ(served["ios/1.0.0"], true) << versions.dump();
}

TEST_F(Explain, BadDeviceHeadersGetTheManifestEndpointsError) {
  Headers auth = {{"Authorization", "Bearer " + server().token()}};
  auto missing = server().get("/api/v1/apps/demo/explain?runtime_version=1.0.0", auth);
  expo::expect_json_error(missing, 400);
  EXPECT_NE(body_json(missing)["message"].get<std::string>().find("expo-platform"), std::string::npos);
  expo::expect_json_error(server().get("/api/v1/apps/demo/explain?platform=web&runtime_version=1", auth), 400);
  expo::expect_json_error(server().get("/api/v1/apps/nope/explain?platform=ios&runtime_version=1", auth), 404);
  // The device's own headers work too.
  auto by_headers = server().get(
      "/api/v1/apps/demo/explain",
      {{"Authorization", "Bearer " + server().token()}, {"Expo-Platform", "ios"}, {"Expo-Runtime-Version", "1.0.0"}});
  ASSERT_EQ(by_headers.status, 200);
  EXPECT_EQ(body_json(by_headers)["update_id"], server().update_id("demo", "update2", "ios"));
}

// ---- /metrics --------------------------------------------------------------------------------------------

class Metrics : public ExpoSuite {};

TEST_F(Metrics, ExpositionParsesStrictlyAndCountsWhatHappened) {
  std::string update1 = server().update_id("demo", "update1", "ios");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(server().manifest("demo", expo::device("ios")).status(), 200);
  server().manifest("demo", device_with("ios", {{"Expo-Recent-Failed-Update-IDs", "\"" + update1 + "\""}}));
  auto a = server().manifest("demo", expo::device("ios"));
  std::string launch = expo::url_path(a.part_json("manifest")["launchAsset"]["url"].get<std::string>());
  auto asset = server().get(launch);
  ASSERT_EQ(asset.status, 200);
  EXPECT_EQ(server().get(launch, {{"If-None-Match", asset.header_or("etag")}}).status, 304);
  std::string group = server().info()["apps"]["rollout"]["update2"]["group"];
  ASSERT_EQ(server().api("PATCH", "/api/v1/apps/rollout/updates/" + group, {{"rollout_percent", 50}}).status, 200);
  ASSERT_EQ(server()
                .api("POST", "/api/v1/apps/rollout/rollbacks", {{"runtime_version", "1.0.0"}, {"platform", "all"}})
                .status,
            201);

  auto r = server().get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header_or("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  ParsedMetrics m = parse_prometheus_text(r.body);
  ASSERT_TRUE(m.ok()) << m.error;
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "manifest"}, {"status", "200"}}), 5);
  EXPECT_EQ(m.value("otaserver_http_requests_total", {{"route", "asset"}, {"status", "304"}}), 1);
  EXPECT_EQ(m.value("otaserver_http_not_modified_total", {{"route", "asset"}}), 1);
  EXPECT_EQ(m.value("otaserver_http_request_duration_seconds_count", {{"route", "manifest"}}), 5);
  EXPECT_GE(m.value("otaserver_http_response_bytes_total", {{"route", "asset"}}).value_or(0),
            static_cast<double>(asset.body.size()));
  EXPECT_EQ(m.value("otaserver_rollout_changes_total"), 1);
  EXPECT_EQ(m.value("otaserver_rollbacks_total"), 1);
  EXPECT_EQ(m.value("otaserver_update_failure_reports_total"), 1);
  EXPECT_GT(m.value("otaserver_blob_store_bytes").value_or(0), 0);
  EXPECT_GT(m.value("otaserver_assets").value_or(0), 0);
  EXPECT_EQ(m.value("otaserver_build_info", {{"version", "0.1.0"}}), 1);

  // promtool, when the environment names one (Debian's prometheus package ships it).
  if (const char* promtool = std::getenv("OTA_PROMTOOL"); promtool != nullptr && *promtool != '\0') {
    TempDir tmp;
    auto file = tmp.path() / "metrics.txt";
    std::ofstream(file, std::ios::binary) << r.body;
    std::string cmd =
        std::string(promtool) + " check metrics < " + file.string() + " > " + (tmp.path() / "out").string() + " 2>&1";
    int rc = std::system(cmd.c_str());
    EXPECT_EQ(rc, 0) << expo::read_file(tmp.path() / "out");
    std::printf("promtool check metrics: exit %d, %zu bytes checked\n", rc, r.body.size());
  }
}

TEST(MetricsToken, WhenSetScrapesNeedIt) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp.path() / "data", {}, {{"OTA_METRICS_TOKEN", "s3cret-scrape"}});
  ASSERT_TRUE(server);
  auto none = expo::http_request(server->port(), "GET", "/metrics");
  expo::expect_json_error(none, 401);
  auto wrong = expo::http_request(server->port(), "GET", "/metrics", {{"Authorization", "Bearer s3cret-scrapf"}});
  expo::expect_json_error(wrong, 401);
  auto right = expo::http_request(server->port(), "GET", "/metrics", {{"Authorization", "Bearer s3cret-scrape"}});
  ASSERT_EQ(right.status, 200);
  EXPECT_TRUE(parse_prometheus_text(right.body).ok());
}

}  // namespace
}  // namespace ota::testing
