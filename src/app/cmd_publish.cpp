// `otaserver publish`: an `expo export` directory to a running server. Sends only the blobs the
// server lacks, each verified by its hash, then commits the update group in one request.
#include <cstdio>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/fs.h"
#include "common/strings.h"
#include "publish/export_reader.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kPublishSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to publish to"},
    {"token", Type::kString, "", "publish token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"dist", Type::kPath, "dist", "the `expo export` output directory"},
    {"app", Type::kString, "", "the app to publish to"},
    {"channel", Type::kString, "", "publish to the branch this channel points at (default: the app's default channel)"},
    {"branch", Type::kString, "", "publish to this branch (created if new) instead of a channel's branch"},
    {"platform", Type::kChoice, "all", "which platforms of the export to publish", 0, 0, "ios|android|all"},
    {"runtime_version", Type::kString, "", "the runtime version of the binaries this update is for"},
    {"message", Type::kString, "", "what changed, shown in listings and the admin page"},
    {"expo_config", Type::kPath, "", "public app config JSON (`npx expo config --type public --json`) for extra.expoClient"},
    {"rollout_percent", Type::kUInt, "100", "share of devices that get it (by EAS-Client-ID)", 0, 100},
    {"idempotency_key", Type::kString, "", "a retry with the same key returns the same update group"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

void upload_progress(size_t done, size_t total, uint64_t bytes) {
  if (!::isatty(2)) return;
  std::fprintf(stderr, "\ruploaded %zu/%zu files (%s)", done, total, format_bytes(bytes).c_str());
}

}  // namespace

std::string publish_help() {
  return "usage: otaserver publish --dist DIR --app APP --runtime-version RV [--channel C | --branch B]\n"
         "                         [--platform ios|android|all] [--message TEXT] [--expo-config FILE]\n"
         "                         --server URL --token T\n"
         "\n"
         "Publishes an `expo export` output as one update group (one update per platform). Only files the\n"
         "server does not have yet are uploaded; nothing is visible to devices until the final commit.\n"
         "\nFlags:\n" +
         config::describe_flags(kPublishSettings) +
         "\nExample:\n"
         "  npx expo export --output-dir dist\n"
         "  OTA_TOKEN=ota_... otaserver publish --dist dist --app myapp --runtime-version 1.0.0 --message \"fix login\"\n";
}

int run_publish(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("publish", kPublishSettings, args, publish_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (cfg.str("app").empty()) return fail("publish", invalid_argument("--app is required"));
  if (cfg.str("runtime_version").empty()) {
    return fail("publish", invalid_argument("--runtime-version is required (what the app's binary reports, e.g. 1.0.0)"));
  }
  if (!cfg.str("channel").empty() && !cfg.str("branch").empty()) {
    return fail("publish", invalid_argument("give --channel or --branch, not both"));
  }
  std::optional<model::Platform> only;
  if (cfg.str("platform") != "all") only = model::parse_platform(cfg.str("platform"));
  auto plan = publish::read_export(cfg.str("dist"), only);
  if (!plan) return fail("publish", plan.error());

  json expo_client = json::object();
  if (!cfg.str("expo_config").empty()) {
    auto text = read_file(cfg.str("expo_config"), 1u << 20);
    if (!text) return fail("publish", text.error());
    expo_client = json::parse(*text, nullptr, false);
    if (expo_client.is_discarded() || !expo_client.is_object()) {
      return fail("publish", invalid_argument(cfg.str("expo_config") + " is not a JSON object"));
    }
    if (expo_client.contains("expo") && expo_client["expo"].is_object()) expo_client = expo_client["expo"];
  }

  auto client = connect_from(cfg);
  if (!client) return fail("publish", client.error());

  json digests = json::array();
  for (const auto& f : plan->files) digests.push_back(f.sha256.base64url());
  auto missing_r = client->post_json("/api/v1/blobs/missing", json{{"sha256", digests}}.dump());
  if (!missing_r) return fail("publish", missing_r.error());
  auto missing = json::parse(missing_r->body)["missing"];
  size_t done = 0;
  uint64_t sent = 0;
  for (const auto& f : plan->files) {
    if (std::find(missing.begin(), missing.end(), f.sha256.base64url()) == missing.end()) continue;
    auto bytes = read_file(std::filesystem::path(cfg.str("dist")) / f.path, size_t{1} << 31);
    if (!bytes) return fail("publish", bytes.error());
    if (crypto::sha256(*bytes) != f.sha256) {
      return fail("publish", invalid_argument(f.path + " changed while publishing; run again"));
    }
    auto put = client->put_bytes("/api/v1/blobs/" + f.sha256.base64url(), *bytes);
    if (!put) return fail("publish", std::move(put).error().context("upload " + f.path));
    ++done;
    sent += bytes->size();
    upload_progress(done, missing.size(), sent);
  }
  if (done > 0 && ::isatty(2)) std::fputc('\n', stderr);

  json platforms = json::object();
  for (const auto& p : plan->platforms) {
    const auto* bundle = plan->file(p.bundle.path);
    json assets = json::array();
    for (const auto& a : p.assets) assets.push_back({{"sha256", plan->file(a.path)->sha256.base64url()}, {"ext", a.ext}});
    platforms[std::string(model::platform_name(p.platform))] = {
        {"runtime_version", cfg.str("runtime_version")},
        {"launch_asset", {{"sha256", bundle->sha256.base64url()}, {"ext", p.bundle.ext}}},
        {"assets", assets},
    };
  }
  json commit = {{"message", cfg.str("message")},
                 {"expo_client", expo_client},
                 {"rollout_percent", cfg.uint("rollout_percent")},
                 {"platforms", platforms}};
  if (!cfg.str("channel").empty()) commit["channel"] = cfg.str("channel");
  if (!cfg.str("branch").empty()) commit["branch"] = cfg.str("branch");
  if (!cfg.str("idempotency_key").empty()) commit["idempotency_key"] = cfg.str("idempotency_key");
  auto r = client->post_json("/api/v1/apps/" + cfg.str("app") + "/updates", commit.dump());
  if (!r) return fail("publish", r.error());
  json result = json::parse(r->body);
  std::printf("published group %s at %s (%zu files uploaded, %s)\n", result["group_id"].get<std::string>().c_str(),
              result["created_at"].get<std::string>().c_str(), done, format_bytes(sent).c_str());
  for (const auto& u : result["updates"]) {
    std::printf("  %-8s %s  runtime %s\n", u["platform"].get<std::string>().c_str(), u["id"].get<std::string>().c_str(),
                u["runtime_version"].get<std::string>().c_str());
  }
  return kExitOk;
}

}  // namespace ota::app
