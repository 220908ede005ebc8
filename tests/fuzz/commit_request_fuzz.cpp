// The JSON body of POST /api/v1/apps/{app}/updates (parse_commit_request in publish/publisher.cpp):
// what a publish commits, sent by anyone holding a publish token. Properties:
//   - no exception escapes, whatever the JSON holds;
//   - an accepted request is within every documented bound: 1-2 distinct platforms, valid runtime
//     versions, asset digests and extensions, at most 10,000 assets, rollout 0-100, bounded
//     strings;
//   - expo_client and metadata are stored as JSON objects that parse again without throwing (the
//     commit fingerprints them with throwing parses), metadata holding only strings;
//   - parse(print(request)) == request.

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "fuzz_support.h"
#include "publish/content_types.h"
#include "publish/publisher.h"

namespace {

using nlohmann::json;
using ota::publish::AssetUpload;
using ota::publish::CommitRequest;

json asset_json(const AssetUpload& a) { return {{"sha256", a.sha256.base64url()}, {"ext", a.ext}}; }

json print(const CommitRequest& r) {
  json j = {{"message", r.message},
            {"expo_client", json::parse(r.expo_client_json)},
            {"metadata", json::parse(r.metadata_json)},
            {"rollout_percent", r.rollout_percent},
            {"platforms", json::object()}};
  if (r.branch) j["branch"] = *r.branch;
  if (r.channel) j["channel"] = *r.channel;
  if (r.idempotency_key) j["idempotency_key"] = *r.idempotency_key;
  if (r.git_commit || r.git_branch) {
    j["git"] = json::object();
    if (r.git_commit) j["git"]["commit"] = *r.git_commit;
    if (r.git_branch) j["git"]["branch"] = *r.git_branch;
  }
  for (const auto& p : r.platforms) {
    json assets = json::array();
    for (const auto& a : p.assets) assets.push_back(asset_json(a));
    j["platforms"][std::string(ota::model::platform_name(p.platform))] = {
        {"runtime_version", p.runtime_version}, {"launch_asset", asset_json(p.launch_asset)}, {"assets", assets}};
  }
  return j;
}

bool same(const CommitRequest& a, const CommitRequest& b) {
  if (a.app != b.app || a.branch != b.branch || a.channel != b.channel || a.message != b.message ||
      a.git_commit != b.git_commit || a.git_branch != b.git_branch || a.idempotency_key != b.idempotency_key ||
      json::parse(a.expo_client_json) != json::parse(b.expo_client_json) ||
      json::parse(a.metadata_json) != json::parse(b.metadata_json) || a.rollout_percent != b.rollout_percent ||
      a.platforms.size() != b.platforms.size()) {
    return false;
  }
  for (const auto& p : a.platforms) {
    bool found = false;
    for (const auto& q : b.platforms) {
      if (q.platform != p.platform) continue;
      found = q.runtime_version == p.runtime_version && q.launch_asset.sha256 == p.launch_asset.sha256 &&
              q.launch_asset.ext == p.launch_asset.ext && q.assets.size() == p.assets.size();
      for (size_t i = 0; found && i < p.assets.size(); ++i) {
        found = q.assets[i].sha256 == p.assets[i].sha256 && q.assets[i].ext == p.assets[i].ext;
      }
    }
    if (!found) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = ota::publish::parse_commit_request("app", ota::fuzz::as_view(data, size));
  if (!r) {
    FUZZ_CHECK(r.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(r->app == "app");
  FUZZ_CHECK(!r->platforms.empty() && r->platforms.size() <= 2);
  std::set<ota::model::Platform> seen;
  for (const auto& p : r->platforms) {
    FUZZ_CHECK(seen.insert(p.platform).second);
    FUZZ_CHECK(ota::publish::validate_runtime_version(p.runtime_version));
    FUZZ_CHECK(ota::publish::valid_extension(p.launch_asset.ext));
    FUZZ_CHECK(p.assets.size() <= 10000);
    for (const auto& a : p.assets) FUZZ_CHECK(ota::publish::valid_extension(a.ext));
  }
  FUZZ_CHECK(r->rollout_percent >= 0 && r->rollout_percent <= 100);
  FUZZ_CHECK(r->message.size() <= 1024);
  FUZZ_CHECK(!r->branch || r->branch->size() <= 64);
  FUZZ_CHECK(!r->channel || r->channel->size() <= 64);
  FUZZ_CHECK(!r->idempotency_key || r->idempotency_key->size() <= 128);
  FUZZ_CHECK(!r->git_commit || r->git_commit->size() <= 64);
  FUZZ_CHECK(!r->git_branch || r->git_branch->size() <= 256);

  const json client = json::parse(r->expo_client_json, nullptr, false);
  FUZZ_CHECK(client.is_object());
  const json metadata = json::parse(r->metadata_json, nullptr, false);
  FUZZ_CHECK(metadata.is_object());
  for (const auto& [k, v] : metadata.items()) FUZZ_CHECK(v.is_string());

  auto again = ota::publish::parse_commit_request("app", print(*r).dump());
  FUZZ_CHECK(again && same(*again, *r));
  return 0;
}
