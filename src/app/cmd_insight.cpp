// `otaserver explain` and `otaserver adoption`: what the server decides for a device, and who runs
// which update, read through a running server's API.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/encoding.h"
#include "common/strings.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kExplainSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"app", Type::kString, "", "the app"},
    {"platform", Type::kChoice, "", "the device's expo-platform", 0, 0, "ios|android|"},
    {"runtime_version", Type::kString, "", "the device's expo-runtime-version"},
    {"channel", Type::kString, "", "the device's expo-channel-name (default: the app's default channel)"},
    {"client_id", Type::kString, "", "the device's EAS-Client-ID (decides rollouts and channel splits)"},
    {"current_update_id", Type::kString, "", "the update the device runs (expo-current-update-id)"},
    {"embedded_update_id", Type::kString, "", "the update built into the binary (expo-embedded-update-id)"},
    {"protocol_version", Type::kUInt, "1", "the device's expo-protocol-version", 0, 1},
    {"json", Type::kBool, "false", "print the server's JSON answer"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

constexpr Setting kAdoptionSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"app", Type::kString, "", "the app"},
    {"days", Type::kUInt, "14", "how many UTC days up to today", 1, 366},
    {"json", Type::kBool, "false", "print the server's JSON answer"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

std::string explain_help() {
  return "usage: otaserver explain --app APP --platform ios|android --runtime-version RV\n"
         "                         [--channel C] [--client-id ID] [--current-update-id U] [--embedded-update-id U]\n"
         "\n"
         "Asks a running server which update a device with these headers gets right now, and why:\n"
         "the channel and its split, the runtime version, and each candidate update with what\n"
         "included or excluded it (rollout bucket, deactivated, already running it...). Also lists\n"
         "runtime versions the app's devices ask for that have nothing published.\n"
         "\nFlags:\n" +
         config::describe_flags(kExplainSettings) +
         "\nExample:\n"
         "  otaserver explain --app myapp --platform ios --runtime-version 1.0.0 \\\n"
         "      --client-id 5f7c3a52-0d8e-4f43-9d8a-1f0e9b6c2a11 --server https://ota.example.com\n";
}

std::string adoption_help() {
  return "usage: otaserver adoption --app APP [--days N]\n"
         "\n"
         "Per update and patch with traffic in the last N UTC days: distinct devices (EAS-Client-ID),\n"
         "manifests served, launch-asset downloads (installs) and failures devices reported in\n"
         "expo-recent-failed-update-ids. Counted by the server from device requests; no SDK needed.\n"
         "\nFlags:\n" +
         config::describe_flags(kAdoptionSettings);
}

std::string padded(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

int run_explain(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("explain", kExplainSettings, args, explain_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("app").empty()) return fail("explain", invalid_argument("--app is required"));
  if (cfg.str("platform").empty()) return fail("explain", invalid_argument("--platform ios or android is required"));
  if (cfg.str("runtime_version").empty()) return fail("explain", invalid_argument("--runtime-version is required"));
  std::string query =
      "platform=" + cfg.str("platform") + "&protocol_version=" + std::to_string(cfg.uint("protocol_version"));
  for (const char* key : {"runtime_version", "channel", "client_id", "current_update_id", "embedded_update_id"}) {
    if (!cfg.str(key).empty()) query += std::string("&") + key + "=" + percent_encode(cfg.str(key));
  }
  auto client = connect_from(cfg);
  if (!client) return fail("explain", client.error());
  auto r = client->get("/api/v1/apps/" + cfg.str("app") + "/explain?" + query);
  if (!r) return fail("explain", r.error());
  json e = json::parse(r->body);
  if (cfg.flag("json")) {
    std::printf("%s\n", e.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s\n  outcome: %s\n\nrules:\n", e["summary"].get<std::string>().c_str(),
              e["outcome"].get<std::string>().c_str());
  for (const auto& s : e["steps"]) {
    std::printf("  %s %s: %s\n", padded("[" + s["result"].get<std::string>() + "]", 6).c_str(),
                s["rule"].get<std::string>().c_str(), s["detail"].get<std::string>().c_str());
  }
  if (!e["candidates"].empty()) {
    std::printf("\ncandidates (newest first):\n");
    for (const auto& c : e["candidates"]) {
      std::printf("  %s %s  %s  rollout %3d%%  %s\n", padded(c["verdict"].get<std::string>(), 11).c_str(),
                  c["id"].get<std::string>().c_str(), c["created_at"].get<std::string>().c_str(),
                  c["rollout_percent"].get<int>(), c["reason"].get<std::string>().c_str());
    }
  }
  if (!e["unserved_runtime_versions"].empty()) {
    std::printf("\nruntime versions devices ask for with nothing published:\n");
    for (const auto& u : e["unserved_runtime_versions"]) {
      std::printf("  %s %s (channel %s): %lld checks\n", u["platform"].get<std::string>().c_str(),
                  u["runtime_version"].get<std::string>().c_str(), u["channel"].get<std::string>().c_str(),
                  static_cast<long long>(u["checks"].get<int64_t>()));
    }
  }
  return kExitOk;
}

int run_adoption(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("adoption", kAdoptionSettings, args, adoption_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("app").empty()) return fail("adoption", invalid_argument("--app is required"));
  auto client = connect_from(cfg);
  if (!client) return fail("adoption", client.error());
  auto r = client->get("/api/v1/apps/" + cfg.str("app") + "/adoption?days=" + std::to_string(cfg.uint("days")));
  if (!r) return fail("adoption", r.error());
  json report = json::parse(r->body);
  if (cfg.flag("json")) {
    std::printf("%s\n", report.dump(2).c_str());
    return kExitOk;
  }
  std::printf("%s to %s (UTC)\n", report["days"].front().get<std::string>().c_str(),
              report["days"].back().get<std::string>().c_str());
  std::printf("%-8s %-36s %-8s %-10s %8s %8s %9s %8s  %s\n", "kind", "id", "platform", "runtime", "devices", "served",
              "installs", "failures", "message");
  auto print = [](const json& item, const char* kind, const std::string& version) {
    const json& t = item["totals"];
    std::string message = item["message"].get<std::string>();
    if (message.size() > 40) message = message.substr(0, 37) + "...";
    std::printf("%-8s %-36s %-8s %-10s %8lld %8lld %9lld %8lld  %s\n", kind, item["id"].get<std::string>().c_str(),
                item["platform"].get<std::string>().c_str(), version.c_str(),
                static_cast<long long>(t["devices"].get<int64_t>()), static_cast<long long>(t["served"].get<int64_t>()),
                static_cast<long long>(t["downloads"].get<int64_t>()),
                static_cast<long long>(t["failures"].get<int64_t>()), message.c_str());
  };
  for (const auto& u : report["updates"])
    print(u, u["kind"] == "rollback" ? "rollback" : "update", u["runtime_version"]);
  for (const auto& p : report["patches"]) print(p, "patch", p["range"]);
  if (report["updates"].empty() && report["patches"].empty()) std::printf("no device traffic in this period\n");
  return kExitOk;
}

}  // namespace

std::string insight_help(std::string_view name) { return name == "explain" ? explain_help() : adoption_help(); }
int run_explain_command(std::span<const std::string> args) { return run_explain(args); }
int run_adoption_command(std::span<const std::string> args) { return run_adoption(args); }

}  // namespace ota::app
