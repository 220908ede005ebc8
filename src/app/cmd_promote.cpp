// `otaserver promote`: copy an update group from one server to another (staging to production)
// with a token for each, so neither server needs the other's credentials. Every blob is verified
// by its hash on the way; the commit carries an idempotency key derived from the source group,
// so running it again returns the group made the first time.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "common/strings.h"
#include "crypto/digest.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kPromoteSettings[] = {
    {"from", Type::kUrl, "", "the server to copy from (e.g. staging)"},
    {"from_token", Type::kString, "", "a read token on the source server"},
    {"to", Type::kUrl, "", "the server to copy to (e.g. production)"},
    {"to_token", Type::kString, "", "a publish token on the target server"},
    {"app", Type::kString, "", "the app on the source server"},
    {"to_app", Type::kString, "", "the app on the target server (default: the same name)"},
    {"group", Type::kString, "", "the update group to promote (`otaserver update list` shows ids)"},
    {"channel", Type::kString, "", "publish on the target to this channel's branch"},
    {"branch", Type::kString, "", "publish on the target to this branch (default: the source group's branch)"},
    {"message", Type::kString, "", "message on the target (default: the source group's)"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

}  // namespace

std::string promote_help() {
  return "usage: otaserver promote --from URL --from-token T1 --to URL --to-token T2 --app APP --group GROUP\n"
         "                         [--to-app APP] [--channel C | --branch B] [--message TEXT]\n"
         "\n"
         "Copies one update group, with every file it needs, from one server to another: staging to\n"
         "production without sharing credentials. Files the target already has are not sent; every\n"
         "file is checked against its SHA-256. Running the same promotion again changes nothing and\n"
         "prints the group made the first time. Tokens may also come from OTA_FROM_TOKEN / OTA_TO_TOKEN.\n"
         "\nFlags:\n" +
         config::describe_flags(kPromoteSettings);
}

int run_promote(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("promote", kPromoteSettings, args, promote_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  for (const char* required : {"from", "to", "app", "group"}) {
    if (cfg.str(required).empty()) return fail("promote", invalid_argument(std::string("--") + required + " is required"));
  }
  if (!cfg.str("channel").empty() && !cfg.str("branch").empty()) {
    return fail("promote", invalid_argument("give --channel or --branch, not both"));
  }
  auto source = http::ApiClient::connect({cfg.str("from"), cfg.str("from_token")});
  if (!source) return fail("promote", std::move(source).error().context("--from"));
  auto target = http::ApiClient::connect({cfg.str("to"), cfg.str("to_token")});
  if (!target) return fail("promote", std::move(target).error().context("--to"));

  auto group_r = source->get("/api/v1/apps/" + cfg.str("app") + "/updates/" + cfg.str("group"));
  if (!group_r) return fail("promote", std::move(group_r).error().context("read the group from --from"));
  json group = json::parse(group_r->body);

  std::vector<std::string> digests;
  for (const auto& [name, p] : group["platforms"].items()) {
    digests.push_back(p["launch_asset"]["sha256"]);
    for (const auto& a : p["assets"]) digests.push_back(a["sha256"]);
  }
  std::sort(digests.begin(), digests.end());
  digests.erase(std::unique(digests.begin(), digests.end()), digests.end());
  auto missing_r = target->post_json("/api/v1/blobs/missing", json{{"sha256", digests}}.dump());
  if (!missing_r) return fail("promote", std::move(missing_r).error().context("ask --to which files it lacks"));
  const json missing = json::parse(missing_r->body)["missing"];
  uint64_t copied_bytes = 0;
  for (const auto& d : missing) {
    std::string sha = d.get<std::string>();
    auto blob = source->get("/api/v1/blobs/" + sha);
    if (!blob) return fail("promote", std::move(blob).error().context("download " + sha + " from --from"));
    if (crypto::sha256(blob->body).base64url() != sha) {
      return fail("promote", corruption("the source sent bytes for " + sha + " that hash differently; nothing was "
                                        "published (run `otaserver fsck --deep` on the source)"));
    }
    auto put = target->put_bytes("/api/v1/blobs/" + sha, blob->body);
    if (!put) return fail("promote", std::move(put).error().context("upload " + sha + " to --to"));
    copied_bytes += blob->body.size();
  }

  json commit = {{"message", cfg.str("message").empty() ? group["message"].get<std::string>() : cfg.str("message")},
                 {"idempotency_key", "promote:" + cfg.str("from") + ":" + cfg.str("group")},
                 {"platforms", json::object()}};
  if (group.contains("expo_client")) commit["expo_client"] = group["expo_client"];
  if (group.contains("metadata") && group["metadata"].is_object()) commit["metadata"] = group["metadata"];
  if (group.contains("git")) commit["git"] = group["git"];
  if (!cfg.str("channel").empty()) {
    commit["channel"] = cfg.str("channel");
  } else {
    commit["branch"] = cfg.str("branch").empty() ? group["branch"].get<std::string>() : cfg.str("branch");
  }
  for (const auto& [name, p] : group["platforms"].items()) {
    commit["platforms"][name] = {{"runtime_version", p["runtime_version"]},
                                 {"launch_asset", p["launch_asset"]},
                                 {"assets", p["assets"]}};
  }
  std::string to_app = cfg.str("to_app").empty() ? cfg.str("app") : cfg.str("to_app");
  auto r = target->post_json("/api/v1/apps/" + to_app + "/updates", commit.dump());
  if (!r) return fail("promote", std::move(r).error().context("commit on --to"));
  json result = json::parse(r->body);
  std::printf("%s group %s on %s as %s (%zu of %zu files copied, %s)\n",
              result["created"].get<bool>() ? "promoted" : "already promoted:", cfg.str("group").c_str(),
              cfg.str("to").c_str(), result["group_id"].get<std::string>().c_str(), missing.size(), digests.size(),
              format_bytes(copied_bytes).c_str());
  return kExitOk;
}

}  // namespace ota::app
