#include "protocol/expo/render.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"

namespace ota::expo {
namespace {

using nlohmann::json;

json asset_json(const model::Asset& a, std::string_view prefix, bool launch) {
  json j = {
      {"hash", a.sha256.base64url()},
      {"key", a.md5},
      {"contentType", launch ? std::string("application/javascript") : a.content_type},
      {"url", std::string(prefix) + a.sha256.base64url()},
  };
  // The spec says to omit it on the launch asset; clients need it on every other asset.
  if (!launch) j["fileExtension"] = a.file_extension;
  return j;
}

}  // namespace

std::string render_manifest_json(const model::Update& u, std::string_view prefix) {
  json assets = json::array();
  for (const auto& a : u.assets) assets.push_back(asset_json(a, prefix, false));
  json j = {
      {"id", u.id},
      {"createdAt", format_iso8601_ms(u.created_at_ms)},
      {"runtimeVersion", u.runtime_version},
      {"launchAsset", asset_json(*u.launch_asset, prefix, true)},
      {"assets", std::move(assets)},
      {"metadata", json::parse(u.metadata_json)},
      {"extra", json::parse(u.extra_json)},
  };
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string render_no_update_directive() { return R"({"type":"noUpdateAvailable"})"; }

std::string render_rollback_directive(int64_t commit_time_ms) {
  json j = {{"type", "rollBackToEmbedded"}, {"parameters", {{"commitTime", format_iso8601_ms(commit_time_ms)}}}};
  return j.dump();
}

}  // namespace ota::expo
