// `otaserver patch ...`: native hot patches through a running server.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/fs.h"
#include "common/strings.h"
#include "crypto/digest.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kPatchSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"app", Type::kString, "", "the app"},
    {"platform", Type::kChoice, "ios", "the platform the patch is for", 0, 0, "ios|android"},
    {"file", Type::kPath, "", "the patch file (a JSPatch script, an OCRunner binary patch, anything)"},
    {"version", Type::kString, "", "the exact app version it applies to, e.g. 3.4.0"},
    {"range", Type::kString, "", "or a version range: \">=3.4.0 <3.5.0\", \"3.4.x\""},
    {"build", Type::kString, "", "only this build number (e.g. 18221); default: every build"},
    {"signature_file", Type::kPath, "", "a base64 RSA-SHA256 signature made offline with the app's patch key"},
    {"policy", Type::kUInt, "0", "apply policy: 0 WaitForNextLaunch, 1 AskForNextLaunch, 2 Overwrite", 0, 2},
    {"rollout_percent", Type::kUInt, "100", "share of devices (by device id) that get it", 0, 100},
    {"preview_devices", Type::kString, "", "comma-separated device ids: only they get it (a preview)"},
    {"message", Type::kString, "", "what it fixes"},
    {"json", Type::kBool, "false", "print the server's JSON answer"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

}  // namespace

std::string patch_help() {
  return "usage: otaserver patch publish --app APP --platform ios --file PATCH (--version V | --range R)\n"
         "                               [--build B] [--policy 0|1|2] [--rollout-percent N]\n"
         "                               [--preview-devices id1,id2] [--signature-file SIG] [--message M]\n"
         "       otaserver patch list --app APP\n"
         "       otaserver patch revoke|unrevoke PATCH_ID --app APP\n"
         "\n"
         "Native hot patches (JSPatch, OCRunner or any file) for app versions and builds. Devices fetch\n"
         "GET {server}/patches/APP/PLATFORM/VERSION/BUILD (404 with no body when nothing applies; ETag and\n"
         "Last-Modified, 304; Range), or ask POST {server}/api/v1/patches/check for a single-use link.\n"
         "The server signs each patch with the app's patch key (RSA-SHA256; X-Patch-Signature header;\n"
         "`otaserver keys export-public --app APP` gives the PEM to embed), or verifies a signature made\n"
         "offline (--signature-file). A revoked patch answers 404 at once.\n"
         "\nFlags:\n" +
         config::describe_flags(kPatchSettings);
}

int run_patch(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("patch", kPatchSettings, args, patch_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  const auto& pos = loaded->parsed.positional;
  if (cfg.str("app").empty()) return fail("patch", invalid_argument("--app is required"));
  const std::string action = pos.empty() ? "" : pos[0];
  auto client = connect_from(cfg);
  if (!client) return fail("patch", client.error());
  const std::string base = "/api/v1/apps/" + cfg.str("app") + "/patches";
  if (action == "publish") {
    if (cfg.str("file").empty()) return fail("patch", invalid_argument("--file is required"));
    auto bytes = read_file(cfg.str("file"), size_t{256} << 20);
    if (!bytes) return fail("patch", bytes.error());
    std::string sha = crypto::sha256(*bytes).base64url();
    auto missing = client->post_json("/api/v1/blobs/missing", json{{"sha256", {sha}}}.dump());
    if (!missing) return fail("patch", missing.error());
    if (!json::parse(missing->body)["missing"].empty()) {
      auto put = client->put_bytes("/api/v1/blobs/" + sha, *bytes);
      if (!put) return fail("patch", put.error());
    }
    json body = {{"platform", cfg.str("platform")}, {"sha256", sha}, {"policy", cfg.uint("policy")},
                 {"rollout_percent", cfg.uint("rollout_percent")}, {"message", cfg.str("message")}};
    if (!cfg.str("version").empty()) body["version"] = cfg.str("version");
    if (!cfg.str("range").empty()) body["range"] = cfg.str("range");
    if (!cfg.str("build").empty()) body["build"] = cfg.str("build");
    if (!cfg.str("preview_devices").empty()) {
      body["preview_devices"] = json::array();
      for (auto d : split(cfg.str("preview_devices"), ',')) {
        if (!trim(d).empty()) body["preview_devices"].push_back(std::string(trim(d)));
      }
    }
    if (!cfg.str("signature_file").empty()) {
      auto sig = read_file(cfg.str("signature_file"), 4096);
      if (!sig) return fail("patch", sig.error());
      body["signature"] = std::string(trim(*sig));
    }
    auto r = client->post_json(base, body.dump());
    if (!r) return fail("patch", r.error());
    json j = json::parse(r->body);
    if (cfg.flag("json")) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::printf("published patch %s (seq %lld, %s, md5 %s)\n", j["id"].get<std::string>().c_str(),
                  static_cast<long long>(j["seq"].get<int64_t>()), format_bytes(j["size"].get<uint64_t>()).c_str(),
                  j["md5"].get<std::string>().c_str());
    }
    return kExitOk;
  }
  if (action == "list") {
    auto r = client->get(base);
    if (!r) return fail("patch", r.error());
    const json answer = json::parse(r->body);
    if (cfg.flag("json")) {
      std::printf("%s\n", answer.dump(2).c_str());
      return kExitOk;
    }
    std::printf("%-36s %-8s %-18s %-8s %4s %7s %8s %9s %s\n", "PATCH", "PLATFORM", "VERSIONS", "BUILD", "SEQ", "ROLLOUT",
                "CHECKS", "DOWNLOADS", "STATE");
    for (const auto& p : answer["patches"]) {
      std::printf("%-36s %-8s %-18s %-8s %4lld %6lld%% %8lld %9lld %s\n", p["id"].get<std::string>().c_str(),
                  p["platform"].get<std::string>().c_str(), p["range"].get<std::string>().c_str(),
                  p["build"].get<std::string>().empty() ? "*" : p["build"].get<std::string>().c_str(),
                  static_cast<long long>(p["seq"].get<int64_t>()), static_cast<long long>(p["rollout_percent"].get<int64_t>()),
                  static_cast<long long>(p["checks"].get<int64_t>()), static_cast<long long>(p["downloads"].get<int64_t>()),
                  p["revoked"].get<bool>() ? "revoked" : "active");
    }
    return kExitOk;
  }
  if (action == "revoke" || action == "unrevoke") {
    if (pos.size() < 2) return fail("patch", invalid_argument("usage: otaserver patch " + action + " PATCH_ID --app APP"));
    auto r = client->post_json(base + "/" + pos[1] + "/" + action, "{}");
    if (!r) return fail("patch", r.error());
    std::printf("patch %s %sd\n", pos[1].c_str(), action.c_str());
    return kExitOk;
  }
  return fail("patch", invalid_argument("say what to do: publish, list, revoke or unrevoke (see --help)"));
}

}  // namespace ota::app
