// `otaserver publish`: an `expo export` directory to a running server. Sends only the blobs the
// server lacks, each verified by its hash, then commits the update group in one request.
#include <cstdio>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/fs.h"
#include "common/strings.h"
#include "common/encoding.h"
#include "publish/export_reader.h"
#include "publish/publisher.h"
#include "publish/runtime_version.h"

#include <map>

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
    {"runtime_version", Type::kString, "",
     "runtime version of the binaries this is for (default: computed from the app config's runtimeVersion policy)"},
    {"app_config", Type::kPath, "", "app.json to read runtimeVersion and version from (default: ./app.json if present)"},
    {"message", Type::kString, "", "what changed, shown in listings and the admin page"},
    {"expo_config", Type::kPath, "", "public app config JSON (`npx expo config --type public --json`) for extra.expoClient"},
    {"rollout_percent", Type::kUInt, "100", "share of devices that get it (by EAS-Client-ID)", 0, 100},
    {"idempotency_key", Type::kString, "", "a retry with the same key returns the same update group (default: random)"},
    {"dry_run", Type::kBool, "false", "validate and print the plan (what would be uploaded and committed); change nothing"},
    {"json", Type::kBool, "false", "print the result as JSON (for CI)"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

void upload_progress(size_t done, size_t total, uint64_t bytes) {
  if (!::isatty(2)) return;
  std::fprintf(stderr, "\ruploaded %zu/%zu files (%s)", done, total, format_bytes(bytes).c_str());
}

}  // namespace

std::string publish_help() {
  return "usage: otaserver publish --dist DIR --app APP [--runtime-version RV] [--channel C | --branch B]\n"
         "                         [--platform ios|android|all] [--message TEXT] [--expo-config FILE]\n"
         "                         --server URL --token T\n"
         "\n"
         "Publishes an `expo export` output as one update group (one update per platform). Only files the\n"
         "server does not have yet are uploaded; nothing is visible to devices until the final commit.\n"
         "The runtime version comes from --runtime-version, or from the runtimeVersion in app.json (policies\n"
         "appVersion, nativeVersion, sdkVersion; fingerprint needs --runtime-version). Inside a git checkout\n"
         "the commit and branch are recorded with the update.\n"
         "\nFlags:\n" +
         config::describe_flags(kPublishSettings) +
         "\nExample:\n"
         "  npx expo export --output-dir dist\n"
         "  OTA_TOKEN=ota_... otaserver publish --dist dist --app myapp --runtime-version 1.0.0 --message \"fix login\"\n";
}

namespace {

// Reads one line of `git <args>` output in the current directory; nullopt outside a checkout.
std::optional<std::string> git(const char* args) {
  std::string cmd = std::string("git ") + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  char buf[256] = {};
  bool got = std::fgets(buf, sizeof buf, p) != nullptr;
  int rc = ::pclose(p);
  if (!got || rc != 0) return std::nullopt;
  std::string out = std::string(trim(buf));
  return out.empty() ? std::nullopt : std::optional<std::string>(out);
}

Result<json> read_json_file(const std::string& path) {
  OTA_ASSIGN_OR_RETURN(std::string text, read_file(path, 1u << 20));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(path + " is not a JSON object");
  return j;
}

}  // namespace

int run_publish(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("publish", kPublishSettings, args, publish_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  const bool dry_run = cfg.flag("dry_run");
  const bool as_json = cfg.flag("json");
  if (cfg.str("app").empty()) return fail("publish", invalid_argument("--app is required"));
  if (!cfg.str("channel").empty() && !cfg.str("branch").empty()) {
    return fail("publish", invalid_argument("give --channel or --branch, not both"));
  }
  std::optional<model::Platform> only;
  if (cfg.str("platform") != "all") only = model::parse_platform(cfg.str("platform"));
  auto plan = publish::read_export(cfg.str("dist"), only);
  if (!plan) return fail("publish", plan.error());

  // The public config goes into the manifest (extra.expoClient); the app config decides runtime
  // versions. Either can stand in for the other: both carry runtimeVersion and version.
  json expo_client = json::object();
  if (!cfg.str("expo_config").empty()) {
    auto j = read_json_file(cfg.str("expo_config"));
    if (!j) return fail("publish", j.error());
    expo_client = j->contains("expo") && (*j)["expo"].is_object() ? (*j)["expo"] : *j;
  }
  std::string app_config_path = cfg.str("app_config");
  if (app_config_path.empty() && std::filesystem::exists("app.json")) app_config_path = "app.json";
  json app_config = expo_client;
  if (!app_config_path.empty()) {
    auto j = read_json_file(app_config_path);
    if (!j) return fail("publish", j.error());
    app_config = j->contains("expo") && (*j)["expo"].is_object() ? (*j)["expo"] : *j;
  }
  std::map<model::Platform, std::string> runtime;
  for (const auto& p : plan->platforms) {
    if (!cfg.str("runtime_version").empty()) {
      runtime[p.platform] = cfg.str("runtime_version");
      continue;
    }
    if (app_config.empty()) {
      return fail("publish", invalid_argument("no runtime version: pass --runtime-version, or run from the project "
                                              "directory (app.json) or give --app-config / --expo-config"));
    }
    auto rv = publish::resolve_runtime_version(app_config, p.platform);
    if (!rv) return fail("publish", std::move(rv).error().context(std::string(model::platform_name(p.platform))));
    runtime[p.platform] = *rv;
  }
  for (const auto& [platform, rv] : runtime) {
    if (auto st = publish::validate_runtime_version(rv); !st) return fail("publish", st.error());
  }

  json platforms = json::object();
  for (const auto& p : plan->platforms) {
    const auto* bundle = plan->file(p.bundle.path);
    json assets = json::array();
    for (const auto& a : p.assets) assets.push_back({{"sha256", plan->file(a.path)->sha256.base64url()}, {"ext", a.ext}});
    platforms[std::string(model::platform_name(p.platform))] = {
        {"runtime_version", runtime[p.platform]},
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
  json git_info = json::object();
  if (auto c = git("rev-parse HEAD")) git_info["commit"] = *c;
  if (auto b = git("rev-parse --abbrev-ref HEAD")) git_info["branch"] = *b;
  if (!git_info.empty()) commit["git"] = git_info;
  // A retried commit (network failure, CI retry with the same key) returns the group made the
  // first time instead of publishing twice.
  commit["idempotency_key"] = cfg.str("idempotency_key").empty() ? hex_encode(crypto::random_bytes(16))
                                                                  : cfg.str("idempotency_key");

  auto client = connect_from(cfg);
  if (!client && !dry_run) return fail("publish", client.error());
  std::optional<json> missing;
  if (client) {
    json digests = json::array();
    for (const auto& f : plan->files) digests.push_back(f.sha256.base64url());
    auto missing_r = client->post_json("/api/v1/blobs/missing", json{{"sha256", digests}}.dump());
    if (!missing_r && !dry_run) return fail("publish", missing_r.error());
    if (missing_r) missing = json::parse(missing_r->body)["missing"];
  }
  auto is_missing = [&](const publish::ExportFile& f) {
    return !missing || std::find(missing->begin(), missing->end(), f.sha256.base64url()) != missing->end();
  };
  uint64_t upload_bytes = 0;
  size_t upload_files = 0;
  for (const auto& f : plan->files) {
    if (is_missing(f)) {
      upload_bytes += f.size;
      ++upload_files;
    }
  }

  if (dry_run) {
    json out = {{"dry_run", true},
                {"app", cfg.str("app")},
                {"server", cfg.str("server")},
                {"upload", {{"files", upload_files}, {"bytes", upload_bytes}, {"known_to_server", missing.has_value()}}},
                {"commit", commit}};
    if (as_json) {
      std::printf("%s\n", out.dump(2).c_str());
      return kExitOk;
    }
    std::printf("dry run: nothing was uploaded or published\n");
    std::printf("app %s on %s, %s\n", cfg.str("app").c_str(), cfg.str("server").c_str(),
                !cfg.str("branch").empty() ? ("branch " + cfg.str("branch")).c_str()
                : !cfg.str("channel").empty() ? ("channel " + cfg.str("channel")).c_str()
                                              : "the app's default channel");
    for (const auto& p : plan->platforms) {
      const auto* bundle = plan->file(p.bundle.path);
      std::printf("  %-8s runtime %-12s bundle %s (%s) + %zu assets\n", std::string(model::platform_name(p.platform)).c_str(),
                  runtime[p.platform].c_str(), p.bundle.path.c_str(), format_bytes(bundle->size).c_str(), p.assets.size());
    }
    std::printf("would upload %zu of %zu files (%s)%s\n", upload_files, plan->files.size(),
                format_bytes(upload_bytes).c_str(), missing ? "" : " (server not reachable: counting all)");
    return kExitOk;
  }

  size_t done = 0;
  uint64_t sent = 0;
  for (const auto& f : plan->files) {
    if (!is_missing(f)) continue;
    auto bytes = read_file(std::filesystem::path(cfg.str("dist")) / f.path, size_t{1} << 31);
    if (!bytes) return fail("publish", bytes.error());
    if (crypto::sha256(*bytes) != f.sha256) {
      return fail("publish", invalid_argument(f.path + " changed while publishing; run again"));
    }
    auto put = client->put_bytes("/api/v1/blobs/" + f.sha256.base64url(), *bytes);
    if (!put) return fail("publish", std::move(put).error().context("upload " + f.path));
    ++done;
    sent += bytes->size();
    if (!as_json) upload_progress(done, upload_files, sent);
  }
  if (done > 0 && !as_json && ::isatty(2)) std::fputc('\n', stderr);

  auto r = client->post_json("/api/v1/apps/" + cfg.str("app") + "/updates", commit.dump());
  if (!r) {
    // One retry with the same idempotency key covers a dropped connection after the commit.
    r = client->post_json("/api/v1/apps/" + cfg.str("app") + "/updates", commit.dump());
    if (!r) return fail("publish", r.error());
  }
  json result = json::parse(r->body);
  if (as_json) {
    result["uploaded_files"] = done;
    result["uploaded_bytes"] = sent;
    std::printf("%s\n", result.dump(2).c_str());
    return kExitOk;
  }
  if (!result["created"].get<bool>()) {
    std::printf("already published under this idempotency key: group %s at %s (nothing new was published)\n",
                result["group_id"].get<std::string>().c_str(), result["created_at"].get<std::string>().c_str());
  } else {
    std::printf("published group %s at %s (%zu files uploaded, %s)\n", result["group_id"].get<std::string>().c_str(),
                result["created_at"].get<std::string>().c_str(), done, format_bytes(sent).c_str());
  }
  for (const auto& u : result["updates"]) {
    std::printf("  %-8s %s  runtime %s\n", u["platform"].get<std::string>().c_str(), u["id"].get<std::string>().c_str(),
                u["runtime_version"].get<std::string>().c_str());
  }
  return kExitOk;
}

}  // namespace ota::app
