// `otaserver update ...`, `otaserver channel ...`, `otaserver rollback ...`: release control
// through a running server's API.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/strings.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kReleaseSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"app", Type::kString, "", "the app"},
    {"branch", Type::kString, "", "a branch (list filter, republish target, or the branch a channel points at)"},
    {"channel", Type::kString, "", "a channel (republish or roll back through the branch it points at)"},
    {"runtime_version", Type::kString, "", "list filter, or the runtime version to roll back"},
    {"platform", Type::kChoice, "all", "list filter, or the platform to roll back", 0, 0, "ios|android|all"},
    {"percent", Type::kUInt, "100", "rollout or split percentage", 0, 100},
    {"split_branch", Type::kString, "", "with `channel set`: the second branch that gets --percent of devices"},
    {"limit", Type::kUInt, "50", "how many updates to list", 1, 10000},
    {"json", Type::kBool, "false", "print the server's JSON answer"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

std::string release_help() {
  return "usage: otaserver update list --app APP [--branch B] [--runtime-version RV] [--platform P]\n"
         "       otaserver update rollout GROUP --percent N --app APP      (0 stops, 100 completes)\n"
         "       otaserver update deactivate|activate GROUP --app APP\n"
         "       otaserver update republish GROUP --app APP [--branch B | --channel C]\n"
         "       otaserver update delete GROUP --app APP\n"
         "       otaserver channel list --app APP\n"
         "       otaserver channel set NAME --branch B [--split-branch B2 --percent N] --app APP\n"
         "       otaserver rollback --app APP --runtime-version RV [--platform P] [--channel C | --branch B]\n"
         "\n"
         "Release control through a running server (--server, --token or OTA_SERVER, OTA_TOKEN).\n"
         "GROUP is the group id `otaserver publish` printed (`update list` shows them).\n"
         "To roll back to an earlier update, republish it: devices only take updates newer than what\n"
         "they run, so the copy gets a fresh id and time. `rollback` sends devices back to the update\n"
         "embedded in their binary (protocol 1 clients).\n"
         "\nFlags:\n" +
         config::describe_flags(kReleaseSettings);
}

void print_or_json(const config::Config& cfg, const http::ApiResponse& r, const std::string& text) {
  if (cfg.flag("json")) {
    std::printf("%s\n", json::parse(r.body).dump(2).c_str());
  } else {
    std::printf("%s\n", text.c_str());
  }
}

std::string commit_text(const json& j) {
  std::string out = "group " + j["group_id"].get<std::string>() + " at " + j["created_at"].get<std::string>();
  for (const auto& u : j["updates"]) {
    out += "\n  " + u["platform"].get<std::string>() + "  " + u["id"].get<std::string>() + "  runtime " +
           u["runtime_version"].get<std::string>();
  }
  return out;
}

int run_update(const config::Config& cfg, const std::vector<std::string>& pos, http::ApiClient& client) {
  const std::string base = "/api/v1/apps/" + cfg.str("app");
  const std::string action = pos.empty() ? "" : pos[0];
  if (action == "list") {
    std::string query = "?limit=" + std::to_string(cfg.uint("limit"));
    if (!cfg.str("branch").empty()) query += "&branch=" + cfg.str("branch");
    if (!cfg.str("runtime_version").empty()) query += "&runtime_version=" + cfg.str("runtime_version");
    if (cfg.str("platform") != "all") query += "&platform=" + cfg.str("platform");
    auto r = client.get(base + "/updates" + query);
    if (!r) return fail("update", r.error());
    if (cfg.flag("json")) return print_or_json(cfg, *r, ""), kExitOk;
    std::printf("%-36s %-8s %-12s %-10s %-24s %7s %-11s %s\n", "GROUP", "PLATFORM", "RUNTIME", "BRANCH", "CREATED",
                "ROLLOUT", "STATE", "MESSAGE");
    const json answer = json::parse(r->body);
    for (const auto& u : answer["updates"]) {
      std::string state = u["kind"] == "rollback" ? "rollback" : u["state"].get<std::string>();
      std::printf("%-36s %-8s %-12s %-10s %-24s %6d%% %-11s %s\n", u["group_id"].get<std::string>().c_str(),
                  u["platform"].get<std::string>().c_str(), u["runtime_version"].get<std::string>().c_str(),
                  u["branch"].get<std::string>().c_str(), u["created_at"].get<std::string>().c_str(),
                  u["rollout_percent"].get<int>(), state.c_str(), u["message"].get<std::string>().substr(0, 60).c_str());
    }
    return kExitOk;
  }
  if (pos.size() < 2) return fail("update", invalid_argument("usage: otaserver update " + action + " GROUP --app APP"));
  const std::string path = base + "/updates/" + pos[1];
  if (action == "rollout") {
    auto r = client.patch_json(path, json{{"rollout_percent", cfg.uint("percent")}}.dump());
    if (!r) return fail("update", r.error());
    print_or_json(cfg, *r, "rollout of " + pos[1] + " is now " + std::to_string(cfg.uint("percent")) + "%");
    return kExitOk;
  }
  if (action == "deactivate" || action == "activate") {
    auto r = client.patch_json(path, json{{"active", action == "activate"}}.dump());
    if (!r) return fail("update", r.error());
    print_or_json(cfg, *r, pos[1] + " " + action + "d");
    return kExitOk;
  }
  if (action == "republish") {
    json body = json::object();
    if (!cfg.str("branch").empty()) body["branch"] = cfg.str("branch");
    if (!cfg.str("channel").empty()) body["channel"] = cfg.str("channel");
    auto r = client.post_json(path + "/republish", body.dump());
    if (!r) return fail("update", r.error());
    print_or_json(cfg, *r, "republished as " + commit_text(json::parse(r->body)));
    return kExitOk;
  }
  if (action == "delete") {
    auto r = client.del(path);
    if (!r) return fail("update", r.error());
    print_or_json(cfg, *r, pos[1] + " deleted; its files go at the next garbage collection");
    return kExitOk;
  }
  return fail("update", invalid_argument("unknown action \"" + action + "\"; see `otaserver help update`"));
}

int run_channel(const config::Config& cfg, const std::vector<std::string>& pos, http::ApiClient& client) {
  const std::string base = "/api/v1/apps/" + cfg.str("app") + "/channels";
  const std::string action = pos.empty() ? "" : pos[0];
  if (action == "list") {
    auto r = client.get(base);
    if (!r) return fail("channel", r.error());
    if (cfg.flag("json")) return print_or_json(cfg, *r, ""), kExitOk;
    const json answer = json::parse(r->body);
    for (const auto& c : answer["channels"]) {
      std::string line = c["name"].get<std::string>() + " -> " + c["branch"].get<std::string>();
      if (c.contains("split")) {
        line += " (" + std::to_string(c["split"]["percent"].get<int>()) + "% -> " +
                c["split"]["branch"].get<std::string>() + ")";
      }
      std::printf("%s\n", line.c_str());
    }
    return kExitOk;
  }
  if (action == "set") {
    if (pos.size() < 2 || cfg.str("branch").empty()) {
      return fail("channel", invalid_argument("usage: otaserver channel set NAME --branch B --app APP"));
    }
    json body = {{"branch", cfg.str("branch")}};
    if (!cfg.str("split_branch").empty()) body["split"] = {{"branch", cfg.str("split_branch")}, {"percent", cfg.uint("percent")}};
    auto r = client.put_json(base + "/" + pos[1], body.dump());
    if (!r) return fail("channel", r.error());
    print_or_json(cfg, *r, "channel " + pos[1] + " now serves branch " + cfg.str("branch"));
    return kExitOk;
  }
  return fail("channel", invalid_argument("unknown action \"" + action + "\"; use list or set"));
}

int run_release_command(std::string_view command, std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command(command, kReleaseSettings, args, release_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("app").empty()) return fail(command, invalid_argument("--app is required"));
  auto client = connect_from(cfg);
  if (!client) return fail(command, client.error());
  if (command == "update") return run_update(cfg, loaded->parsed.positional, *client);
  if (command == "channel") return run_channel(cfg, loaded->parsed.positional, *client);
  // rollback
  if (cfg.str("runtime_version").empty()) return fail("rollback", invalid_argument("--runtime-version is required"));
  json body = {{"runtime_version", cfg.str("runtime_version")}, {"platform", cfg.str("platform")}};
  if (!cfg.str("branch").empty()) body["branch"] = cfg.str("branch");
  if (!cfg.str("channel").empty()) body["channel"] = cfg.str("channel");
  auto r = client->post_json("/api/v1/apps/" + cfg.str("app") + "/rollbacks", body.dump());
  if (!r) return fail("rollback", r.error());
  print_or_json(cfg, *r, "rolled back to the embedded update: " + commit_text(json::parse(r->body)));
  return kExitOk;
}

}  // namespace

std::string release_commands_help() { return release_help(); }
int run_update_command(std::span<const std::string> args) { return run_release_command("update", args); }
int run_channel_command(std::span<const std::string> args) { return run_release_command("channel", args); }
int run_rollback_command(std::span<const std::string> args) { return run_release_command("rollback", args); }

}  // namespace ota::app
