// An update as stored and served: one manifest (or one roll-back-to-embedded marker) for one
// platform and runtime version on one branch of one app.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "crypto/digest.h"
#include "model/platform.h"

namespace ota::model {

struct Asset {
  crypto::Sha256 sha256;       // the blob key; manifest `hash` is its base64url
  std::string md5;             // lower-case hex; manifest `key`
  uint64_t size = 0;
  std::string content_type;
  std::string file_extension;  // with the leading dot: ".png"
};

enum class UpdateKind { kUpdate, kRollback };

struct Update {
  std::string id;        // lower-case UUID
  std::string group_id;
  int64_t app_id = 0;
  int64_t branch_id = 0;
  Platform platform = Platform::kIos;
  std::string runtime_version;
  UpdateKind kind = UpdateKind::kUpdate;
  int64_t created_at_ms = 0;
  std::string extra_json = "{}";     // manifest "extra", canonical JSON
  std::string metadata_json = "{}";  // manifest "metadata", canonical JSON
  int rollout_percent = 100;
  std::string rollout_salt;
  bool active = true;
  std::optional<Asset> launch_asset;  // absent for rollback markers
  std::vector<Asset> assets;
};

struct App {
  int64_t id = 0;
  std::string name;
  std::string default_channel = "production";
  bool asset_tokens = false;
  int64_t asset_token_ttl_s = 86400;
  int64_t created_at_ms = 0;
};

}  // namespace ota::model
