#include "publish/patches.h"

#include <nlohmann/json.hpp>

#include "auth/signing_keys.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/uuid.h"
#include "model/version_range.h"
#include "storage/repos/branches.h"

namespace ota::publish {
namespace {

using nlohmann::json;

bool valid_device_id(std::string_view s) {
  return !s.empty() && s.size() <= 128 && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

Result<PatchRequest> parse_patch_request(std::string_view app, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("the request body must be a JSON object");
  PatchRequest r;
  r.app = std::string(app);
  auto str = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key) || !j[key].is_string()) return std::nullopt;
    return j[key].get<std::string>();
  };
  auto platform = model::parse_platform(str("platform").value_or(""));
  if (!platform) return invalid_argument("\"platform\" must be ios or android");
  r.platform = *platform;
  auto version = str("version");
  auto range = str("range");
  if (version.has_value() == range.has_value()) {
    return invalid_argument("give exactly one of \"version\" (e.g. 3.4.0) or \"range\" (e.g. \">=3.4.0 <3.5.0\", \"3.4.x\")");
  }
  if (version) {
    auto v = model::parse_version(*version);
    if (!v) return invalid_argument("\"version\" must be a dotted number like 3.4.0");
    OTA_ASSIGN_OR_RETURN(auto exact, model::VersionRange::parse(v->str()));
    r.version_range = exact.text();
  } else {
    OTA_ASSIGN_OR_RETURN(auto parsed, model::VersionRange::parse(*range));
    r.version_range = parsed.text();
  }
  r.build = str("build");
  if (r.build && (r.build->empty() || r.build->size() > 64 || !valid_device_id(*r.build))) {
    return invalid_argument("\"build\" must be 1-64 visible characters, e.g. 18221");
  }
  auto sha = crypto::Sha256::from_base64url(str("sha256").value_or(""));
  if (!sha) return invalid_argument("\"sha256\" must be the uploaded file's base64url SHA-256 (43 characters)");
  r.sha256 = *sha;
  r.signature = str("signature");
  if (j.contains("policy")) {
    if (!j["policy"].is_number_integer() || j["policy"] < 0 || j["policy"] > 2) {
      return invalid_argument("\"policy\" is 0 (WaitForNextLaunch), 1 (AskForNextLaunch) or 2 (Overwrite)");
    }
    r.policy = j["policy"];
  }
  if (j.contains("rollout_percent")) {
    if (!j["rollout_percent"].is_number_integer() || j["rollout_percent"] < 0 || j["rollout_percent"] > 100) {
      return invalid_argument("\"rollout_percent\" must be a whole number from 0 to 100");
    }
    r.rollout_percent = j["rollout_percent"];
  }
  if (j.contains("preview_devices")) {
    if (!j["preview_devices"].is_array() || j["preview_devices"].size() > 1000) {
      return invalid_argument("\"preview_devices\" must be an array of at most 1000 device ids");
    }
    for (const auto& d : j["preview_devices"]) {
      if (!d.is_string() || !valid_device_id(d.get<std::string>())) {
        return invalid_argument("each preview device id must be 1-128 visible characters");
      }
      r.preview_devices.push_back(d);
    }
  }
  r.message = str("message").value_or("");
  if (r.message.size() > 1024) return invalid_argument("\"message\" is longer than 1024 bytes");
  return r;
}

Result<PatchResult> PatchPublisher::publish(const PatchRequest& req, const auth::Actor& actor) {
  storage::BlobLease lease = storage_.lease();
  Status adopted = lease.adopt(req.sha256);
  if (!adopted) {
    if (adopted.error().code() == ErrorCode::kNotFound) {
      return invalid_argument("the patch file " + req.sha256.base64url() +
                              " has not been uploaded; PUT it to /api/v1/blobs/<sha256> first");
    }
    return std::move(adopted).error();
  }
  OTA_ASSIGN_OR_RETURN(auto blob, storage_.blobs().get(req.sha256));
  if (!blob) return internal_error("patch blob vanished after it was pinned");
  std::string bytes(blob->bytes());

  PatchResult result;
  int64_t now = clock_.now_ms();
  Status committed = storage_.commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, req.app));
    OTA_ASSIGN_OR_RETURN(auto key, auth::ensure_patch_key(tx, app_id, server_secret_, now));
    bool offline = req.signature.has_value();
    if (offline) {
      auto raw = base64_decode(*req.signature);
      if (!raw) return invalid_argument("\"signature\" must be standard base64 (with padding)");
      OTA_ASSIGN_OR_RETURN(bool valid, crypto::verify_sha256(key.public_pem, bytes, *raw));
      if (!valid) {
        return Error(ErrorCode::kInvalidArgument, "the offline signature does not verify against this app's patch "
                                                  "key (`otaserver keys export-public`); nothing was published");
      }
      result.signature = *req.signature;
    } else {
      OTA_ASSIGN_OR_RETURN(std::string raw, key.key->sign_sha256(bytes));
      result.signature = base64_encode(raw);
    }
    OTA_ASSIGN_OR_RETURN(auto sq, tx.query("SELECT coalesce(max(seq), 0), coalesce(max(created_at_ms), 0) FROM patches "
                                           "WHERE app_id = ? AND platform = ?",
                                           app_id, model::platform_name(req.platform)));
    OTA_ASSIGN_OR_RETURN(bool row, sq.next());
    result.seq = (row ? sq.int64(0) : 0) + 1;
    result.id = format_uuid_v4(crypto::random_bytes(16));
    // Last-Modified has one-second resolution: a patch published in the same second as the
    // previous one moves to the next second, so If-Modified-Since can never hide it.
    int64_t previous_s = row ? sq.int64(1) / 1000 : 0;
    result.created_at_ms = now / 1000 > previous_s ? now : (previous_s + 1) * 1000;
    result.md5 = crypto::md5_hex(bytes);
    result.size = bytes.size();
    std::optional<std::string> preview;
    if (!req.preview_devices.empty()) preview = json(req.preview_devices).dump();
    OTA_TRY(tx.execute("INSERT INTO patches (id, app_id, platform, version_range, build, seq, sha256, md5, size, "
                       "signature, signed_offline, policy, rollout_percent, rollout_salt, preview_devices, message, "
                       "created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       result.id, app_id, model::platform_name(req.platform), req.version_range, req.build, result.seq,
                       metadata::Blob{req.sha256.view()}, result.md5, static_cast<int64_t>(result.size),
                       result.signature, offline ? 1 : 0, req.policy, req.rollout_percent,
                       base64url_encode(crypto::random_bytes(12)), preview, req.message, result.created_at_ms));
    json detail = {{"platform", model::platform_name(req.platform)}, {"range", req.version_range},
                   {"build", req.build.value_or("")}, {"seq", result.seq}, {"rollout_percent", req.rollout_percent},
                   {"offline_signature", offline}};
    return auth::audit(tx, actor, {"patch.publish", app_id, result.id, detail.dump()}, now);
  });
  OTA_TRY(std::move(committed).context("publish patch to " + req.app));
  spdlog::info("patch published app={} id={} seq={} range={} size={}", req.app, result.id, result.seq,
               req.version_range, result.size);
  return result;
}

Status PatchPublisher::set_revoked(std::string_view app, std::string_view patch_id, bool revoked,
                                   const auth::Actor& actor) {
  int64_t now = clock_.now_ms();
  OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_ASSIGN_OR_RETURN(int64_t changed,
                       tx.execute("UPDATE patches SET revoked_at_ms = ? WHERE id = ? AND app_id = ?",
                                  revoked ? std::optional<int64_t>(now) : std::nullopt, patch_id, app_id));
  if (changed == 0) return not_found("no patch \"" + std::string(patch_id.substr(0, 64)) + "\" in this app");
  OTA_TRY(auth::audit(tx, actor, {revoked ? "patch.revoke" : "patch.unrevoke", app_id, std::string(patch_id), "{}"},
                      now));
  return tx.commit();
}

Result<std::string> PatchPublisher::public_key(std::string_view app) {
  OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_ASSIGN_OR_RETURN(auto key, auth::ensure_patch_key(tx, app_id, server_secret_, clock_.now_ms()));
  OTA_TRY(tx.commit());
  return key.public_pem;
}

}  // namespace ota::publish
