#include "publish/publisher.h"

#include <map>

#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/encoding.h"
#include "common/uuid.h"
#include "crypto/digest.h"
#include "codec/compress.h"
#include "publish/content_types.h"
#include "storage/repos/branches.h"

namespace ota::publish {
namespace {

using nlohmann::json;

constexpr size_t kMaxAssetsPerUpdate = 10000;
// A compressed variant is kept only if it saves at least this share of the bytes.
constexpr double kMinSaving = 0.1;

struct AssetFacts {
  std::string md5;
  uint64_t size = 0;
  std::string content_type;
  std::optional<crypto::Sha256> gzip_sha256, br_sha256;
  std::optional<uint64_t> gzip_size, br_size;
  bool known = false;  // already in the assets table
};

Result<AssetUpload> parse_asset(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("sha256") || !j["sha256"].is_string() || !j.contains("ext") ||
      !j["ext"].is_string()) {
    return invalid_argument(where + " must be {\"sha256\": \"<base64url SHA-256>\", \"ext\": \"png\"}");
  }
  auto digest = crypto::Sha256::from_base64url(j["sha256"].get<std::string>());
  if (!digest) return invalid_argument(where + ".sha256 must be 43 characters of base64url (no padding)");
  std::string ext = j["ext"].get<std::string>();
  if (!valid_extension(ext)) return invalid_argument(where + ".ext must be 1-16 letters or digits, without a dot");
  return AssetUpload{*digest, ext};
}

Result<std::optional<std::string>> optional_string(const json& j, const char* key, size_t max) {
  if (!j.contains(key) || j[key].is_null()) return std::optional<std::string>();
  if (!j[key].is_string()) return invalid_argument(std::string("\"") + key + "\" must be a string");
  std::string v = j[key].get<std::string>();
  if (v.size() > max) return invalid_argument(std::string("\"") + key + "\" is longer than " + std::to_string(max));
  return std::optional<std::string>(std::move(v));
}

Result<AssetFacts> derive_facts(storage::BlobLease& lease, storage::Storage& storage, const AssetUpload& upload,
                                metadata::Database& db) {
  AssetFacts facts;
  {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT md5, size, content_type, gzip_sha256, br_sha256 FROM assets "
                                          "WHERE sha256 = ?",
                                          metadata::Blob{upload.sha256.view()}));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (found) {
      facts.known = true;
      facts.md5 = q.text(0);
      facts.size = static_cast<uint64_t>(q.int64(1));
      facts.content_type = q.text(2);
      // Variants are blobs too: pin them so a collector cannot race this commit.
      for (int col : {3, 4}) {
        if (q.is_null(col)) continue;
        auto d = crypto::Sha256::from_bytes(q.blob(col));
        if (d) OTA_TRY(lease.adopt(*d));
      }
      return facts;
    }
  }
  OTA_ASSIGN_OR_RETURN(auto blob, storage.blobs().get(upload.sha256));
  if (!blob) return internal_error("blob vanished after it was pinned");
  std::string_view bytes = blob->bytes();
  facts.md5 = crypto::md5_hex(bytes);
  facts.size = bytes.size();
  facts.content_type = std::string(content_type_for(upload.ext));
  if (codec::worth_compressing(facts.content_type) && bytes.size() >= 256) {
    auto keep = [&](std::optional<std::string> variant, std::optional<crypto::Sha256>& sha,
                    std::optional<uint64_t>& size) -> Status {
      if (!variant || static_cast<double>(variant->size()) > static_cast<double>(bytes.size()) * (1 - kMinSaving)) {
        return ok();
      }
      OTA_ASSIGN_OR_RETURN(sha, lease.put(*variant));
      size = variant->size();
      return ok();
    };
    OTA_TRY(keep(codec::brotli(bytes), facts.br_sha256, facts.br_size));
    OTA_TRY(keep(codec::gzip(bytes), facts.gzip_sha256, facts.gzip_size));
  }
  return facts;
}

// The branch to publish to: the named branch (created if new), the branch a named channel points
// at, or the branch of the app's default channel.
Result<int64_t> resolve_branch(metadata::WriteTransaction& tx, int64_t app_id, const std::optional<std::string>& branch,
                               const std::optional<std::string>& channel, int64_t now) {
  if (channel) return repos::channel_branch(tx, app_id, *channel);
  if (branch && !branch->empty()) return repos::ensure_branch(tx, app_id, *branch, now);
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT default_channel FROM apps WHERE id = ?", app_id));
  OTA_ASSIGN_OR_RETURN(bool has, q.next());
  if (!has) return internal_error("app vanished");
  return repos::channel_branch(tx, app_id, q.text(0));
}

struct AppClock {
  int64_t app_id = 0;
  int64_t created_at = 0;
};

// The app and the createdAt for its next update: server time, strictly increasing per app even
// if the wall clock steps back.
Result<AppClock> next_created_at(metadata::WriteTransaction& tx, const std::string& app, int64_t now) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, last_created_at_ms FROM apps WHERE name = ?", app));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no app named \"" + app.substr(0, 80) + "\"; create it with `otaserver app create`");
  return AppClock{q.int64(0), std::max(now, q.int64(1) + 1)};
}

std::optional<metadata::Blob> blob_or_null(const std::optional<crypto::Sha256>& d) {
  if (!d) return std::nullopt;
  return metadata::Blob{d->view()};
}

}  // namespace

Status validate_runtime_version(std::string_view rv) {
  if (rv.empty() || rv.size() > 256) return invalid_argument("runtime version must be 1-256 characters");
  for (char c : rv) {
    if (c < 0x20 || c > 0x7e) return invalid_argument("runtime version must be printable ASCII");
  }
  if (rv.front() == ' ' || rv.back() == ' ') {
    return invalid_argument("runtime version must not start or end with a space (devices compare it byte for byte)");
  }
  return ok();
}

Result<CommitRequest> parse_commit_request(std::string_view app, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("the request body must be a JSON object");
  CommitRequest r;
  r.app = std::string(app);
  OTA_ASSIGN_OR_RETURN(r.branch, optional_string(j, "branch", 64));
  OTA_ASSIGN_OR_RETURN(r.channel, optional_string(j, "channel", 64));
  OTA_ASSIGN_OR_RETURN(auto message, optional_string(j, "message", 1024));
  r.message = message.value_or("");
  OTA_ASSIGN_OR_RETURN(r.idempotency_key, optional_string(j, "idempotency_key", 128));
  if (j.contains("git") && j["git"].is_object()) {
    OTA_ASSIGN_OR_RETURN(r.git_commit, optional_string(j["git"], "commit", 64));
    OTA_ASSIGN_OR_RETURN(r.git_branch, optional_string(j["git"], "branch", 256));
  }
  if (j.contains("expo_client")) {
    if (!j["expo_client"].is_object()) return invalid_argument("\"expo_client\" must be the public app config object");
    r.expo_client_json = j["expo_client"].dump(-1, ' ', false, json::error_handler_t::strict);
  }
  if (j.contains("metadata")) {
    const auto& m = j["metadata"];
    if (!m.is_object()) return invalid_argument("\"metadata\" must be an object of strings");
    for (const auto& [k, v] : m.items()) {
      if (!v.is_string()) return invalid_argument("\"metadata\" values must be strings (\"" + k + "\" is not)");
    }
    r.metadata_json = m.dump();
  }
  if (j.contains("rollout_percent")) {
    if (!j["rollout_percent"].is_number_integer() || j["rollout_percent"] < 0 || j["rollout_percent"] > 100) {
      return invalid_argument("\"rollout_percent\" must be a whole number from 0 to 100");
    }
    r.rollout_percent = j["rollout_percent"].get<int>();
  }
  if (!j.contains("platforms") || !j["platforms"].is_object() || j["platforms"].empty()) {
    return invalid_argument("\"platforms\" must be an object with \"ios\" and/or \"android\"");
  }
  for (const auto& [name, p] : j["platforms"].items()) {
    auto platform = model::parse_platform(name);
    if (!platform) return invalid_argument("unknown platform \"" + name.substr(0, 40) + "\" (expected ios, android)");
    std::string where = "platforms." + name;
    if (!p.is_object()) return invalid_argument(where + " must be an object");
    PlatformCommit pc;
    pc.platform = *platform;
    if (!p.contains("runtime_version") || !p["runtime_version"].is_string()) {
      return invalid_argument(where + ".runtime_version is required (what the app's binary reports)");
    }
    pc.runtime_version = p["runtime_version"].get<std::string>();
    OTA_TRY(validate_runtime_version(pc.runtime_version).context(where));
    if (!p.contains("launch_asset")) return invalid_argument(where + ".launch_asset is required");
    OTA_ASSIGN_OR_RETURN(pc.launch_asset, parse_asset(p["launch_asset"], where + ".launch_asset"));
    if (p.contains("assets")) {
      if (!p["assets"].is_array()) return invalid_argument(where + ".assets must be an array");
      if (p["assets"].size() > kMaxAssetsPerUpdate) return invalid_argument(where + ".assets has over 10000 entries");
      for (size_t i = 0; i < p["assets"].size(); ++i) {
        OTA_ASSIGN_OR_RETURN(auto a, parse_asset(p["assets"][i], where + ".assets[" + std::to_string(i) + "]"));
        pc.assets.push_back(a);
      }
    }
    r.platforms.push_back(std::move(pc));
  }
  return r;
}

// What a commit asks for, independent of JSON key order: the same request always has the same
// fingerprint, and a different one (other files, runtime, branch, config) a different one.
crypto::Sha256 request_fingerprint(const CommitRequest& r) {
  json j = {{"branch", r.branch.value_or("")}, {"channel", r.channel.value_or("")}, {"message", r.message},
            {"expo_client", json::parse(r.expo_client_json)}, {"metadata", json::parse(r.metadata_json)},
            {"rollout", r.rollout_percent}, {"platforms", json::array()}};
  for (const auto& p : r.platforms) {
    json assets = json::array();
    for (const auto& a : p.assets) assets.push_back({a.sha256.base64url(), a.ext});
    j["platforms"].push_back({model::platform_name(p.platform), p.runtime_version, p.launch_asset.sha256.base64url(),
                              p.launch_asset.ext, assets});
  }
  return crypto::sha256(j.dump());
}

Result<CommitResult> Publisher::commit(const CommitRequest& req, const auth::Actor& actor) {
  if (req.branch && req.channel) return invalid_argument("give either a branch or a channel, not both");
  if (req.branch) OTA_TRY(repos::validate_name("branch", *req.branch));
  if (req.channel) OTA_TRY(repos::validate_name("channel", *req.channel));
  if (req.platforms.empty()) return invalid_argument("nothing to publish: no platforms");
  metadata::Database& db = storage_.db();

  // Idempotent retry: the same key returns the group committed earlier.
  if (req.idempotency_key) {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT g.id, g.created_at_ms, g.app_id, g.request_sha256 FROM update_groups g "
                                          "JOIN apps a ON a.id = g.app_id WHERE a.name = ? AND g.idempotency_key = ?",
                                          req.app, *req.idempotency_key));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (found && !q.is_null(3) && q.blob(3) != request_fingerprint(req).view()) {
      return conflict("the idempotency key \"" + req.idempotency_key->substr(0, 64) + "\" was already used for "
                      "different content (group " + q.text(0) + "); use a new key for a new publish");
    }
    if (found) {
      CommitResult r{q.text(0), q.int64(1), false, q.int64(2), {}};
      OTA_ASSIGN_OR_RETURN(auto uq, tx.query("SELECT id, platform, runtime_version FROM updates WHERE group_id = ? "
                                             "ORDER BY platform DESC",
                                             r.group_id));
      while (true) {
        OTA_ASSIGN_OR_RETURN(bool row, uq.next());
        if (!row) break;
        model::Update u;
        u.id = uq.text(0);
        u.platform = model::parse_platform(uq.text(1)).value_or(model::Platform::kIos);
        u.runtime_version = uq.text(2);
        u.created_at_ms = r.created_at_ms;
        r.updates.push_back(std::move(u));
      }
      return r;
    }
  }

  // 1-2: pin and check every blob, derive facts and variants (all durable before step 3).
  storage::BlobLease lease = storage_.lease();
  std::map<crypto::Sha256, AssetFacts> facts;
  for (const auto& p : req.platforms) {
    std::vector<const AssetUpload*> all = {&p.launch_asset};
    for (const auto& a : p.assets) all.push_back(&a);
    for (const AssetUpload* a : all) {
      if (facts.contains(a->sha256)) continue;
      Status adopted = lease.adopt(a->sha256);
      if (!adopted) {
        if (adopted.error().code() == ErrorCode::kNotFound) {
          return invalid_argument("asset " + a->sha256.base64url() +
                                  " has not been uploaded; PUT it to /api/v1/blobs/<sha256> first");
        }
        return std::move(adopted).error();
      }
      OTA_ASSIGN_OR_RETURN(auto f, derive_facts(lease, storage_, *a, db));
      facts.emplace(a->sha256, std::move(f));
    }
  }

  // 3: one transaction makes the whole group visible.
  CommitResult result;
  int64_t now = clock_.now_ms();
  Status committed = storage_.commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_ASSIGN_OR_RETURN(AppClock clock, next_created_at(tx, req.app, now));
    int64_t app_id = clock.app_id;
    int64_t created_at = clock.created_at;
    OTA_ASSIGN_OR_RETURN(int64_t branch_id, resolve_branch(tx, app_id, req.branch, req.channel, now));
    result.app_id = app_id;
    result.group_id = format_uuid_v4(crypto::random_bytes(16));
    result.created_at_ms = created_at;
    OTA_TRY(tx.execute("INSERT INTO update_groups (id, app_id, branch_id, message, git_commit, git_branch, "
                       "created_at_ms, idempotency_key, request_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       result.group_id, app_id, branch_id, req.message, req.git_commit, req.git_branch, created_at,
                       req.idempotency_key, metadata::Blob{request_fingerprint(req).view()}));
    for (const auto& [sha, f] : facts) {
      if (f.known) continue;
      OTA_TRY(tx.execute("INSERT OR IGNORE INTO assets (sha256, md5, size, content_type, gzip_sha256, gzip_size, "
                         "br_sha256, br_size, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         metadata::Blob{sha.view()}, f.md5, static_cast<int64_t>(f.size), f.content_type,
                         blob_or_null(f.gzip_sha256), f.gzip_size ? std::optional<int64_t>(*f.gzip_size) : std::nullopt,
                         blob_or_null(f.br_sha256), f.br_size ? std::optional<int64_t>(*f.br_size) : std::nullopt,
                         created_at));
    }
    json metadata = json::parse(req.metadata_json);
    for (const auto& p : req.platforms) {
      model::Update u;
      u.id = format_uuid_v4(crypto::random_bytes(16));
      u.group_id = result.group_id;
      u.app_id = app_id;
      u.branch_id = branch_id;
      u.platform = p.platform;
      u.runtime_version = p.runtime_version;
      u.created_at_ms = created_at;
      u.rollout_percent = req.rollout_percent;
      u.rollout_salt = base64url_encode(crypto::random_bytes(12));
      json extra = {{"expoClient", json::parse(req.expo_client_json)}};
      u.extra_json = extra.dump();
      u.metadata_json = metadata.dump();
      OTA_TRY(tx.execute("INSERT INTO updates (id, group_id, app_id, branch_id, platform, runtime_version, kind, "
                         "created_at_ms, extra_json, metadata_json, rollout_percent, rollout_salt) "
                         "VALUES (?, ?, ?, ?, ?, ?, 'update', ?, ?, ?, ?, ?)",
                         u.id, u.group_id, app_id, branch_id, model::platform_name(p.platform), u.runtime_version,
                         created_at, u.extra_json, u.metadata_json, u.rollout_percent, u.rollout_salt));
      // Manifest keys must be unique within a manifest (Android de-duplicates by key): an asset
      // listed twice, or equal to the bundle, is kept once.
      std::vector<std::string> seen_md5 = {facts.at(p.launch_asset.sha256).md5};
      OTA_TRY(tx.execute("INSERT INTO update_assets (update_id, position, sha256, file_extension) VALUES (?, 0, ?, ?)",
                         u.id, metadata::Blob{p.launch_asset.sha256.view()}, "." + p.launch_asset.ext));
      int position = 1;
      for (const auto& a : p.assets) {
        const std::string& md5 = facts.at(a.sha256).md5;
        if (std::find(seen_md5.begin(), seen_md5.end(), md5) != seen_md5.end()) continue;
        seen_md5.push_back(md5);
        OTA_TRY(tx.execute("INSERT INTO update_assets (update_id, position, sha256, file_extension) VALUES (?, ?, ?, ?)",
                           u.id, position++, metadata::Blob{a.sha256.view()}, "." + a.ext));
      }
      result.updates.push_back(std::move(u));
    }
    OTA_TRY(tx.execute("UPDATE apps SET last_created_at_ms = ? WHERE id = ?", created_at, app_id));
    json detail = {{"group_id", result.group_id}, {"message", req.message}, {"platforms", json::array()}};
    for (const auto& u : result.updates) {
      detail["platforms"].push_back(
          {{"platform", model::platform_name(u.platform)}, {"id", u.id}, {"runtime_version", u.runtime_version}});
    }
    return auth::audit(tx, actor, {"update.publish", app_id, result.group_id, detail.dump()}, now);
  });
  OTA_TRY(std::move(committed).context("publish to " + req.app));
  spdlog::info("publish ok app={} group={} platforms={} created_at={}", req.app, result.group_id,
               result.updates.size(), result.created_at_ms);
  return result;
}

Result<CommitResult> Publisher::republish(std::string_view app, std::string_view group_id,
                                          const std::optional<std::string>& branch,
                                          const std::optional<std::string>& channel, const auth::Actor& actor) {
  if (branch && channel) return invalid_argument("give either a branch or a channel, not both");
  CommitResult result;
  int64_t now = clock_.now_ms();
  storage::BlobLease lease = storage_.lease();
  // Pin every blob the copied updates will reference before the transaction checks them.
  {
    OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT DISTINCT ua.sha256 FROM update_assets ua JOIN updates u ON "
                                          "u.id = ua.update_id WHERE u.group_id = ?",
                                          group_id));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      auto d = crypto::Sha256::from_bytes(q.blob(0));
      if (d) OTA_TRY(lease.adopt(*d).context("republish"));
    }
  }
  Status committed = storage_.commit(lease, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_ASSIGN_OR_RETURN(AppClock clock, next_created_at(tx, std::string(app), now));
    OTA_ASSIGN_OR_RETURN(auto gq, tx.query("SELECT branch_id, message FROM update_groups WHERE id = ? AND app_id = ?",
                                           group_id, clock.app_id));
    OTA_ASSIGN_OR_RETURN(bool found, gq.next());
    if (!found) return not_found("no update group \"" + std::string(group_id.substr(0, 64)) + "\" in this app");
    int64_t branch_id = gq.int64(0);
    std::string message = "republish of " + std::string(group_id) + (gq.text(1).empty() ? "" : ": " + gq.text(1));
    if (branch || channel) {
      OTA_ASSIGN_OR_RETURN(branch_id, resolve_branch(tx, clock.app_id, branch, channel, now));
    }
    result.app_id = clock.app_id;
    result.created_at_ms = clock.created_at;
    result.group_id = format_uuid_v4(crypto::random_bytes(16));
    OTA_TRY(tx.execute("INSERT INTO update_groups (id, app_id, branch_id, message, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                       result.group_id, clock.app_id, branch_id, message.substr(0, 1024), clock.created_at));
    OTA_ASSIGN_OR_RETURN(auto uq, tx.query("SELECT id, platform, runtime_version, extra_json, metadata_json FROM updates "
                                           "WHERE group_id = ? AND kind = 'update' ORDER BY platform",
                                           group_id));
    std::vector<std::pair<std::string, model::Update>> copies;
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, uq.next());
      if (!row) break;
      model::Update u;
      u.id = format_uuid_v4(crypto::random_bytes(16));
      u.group_id = result.group_id;
      u.platform = model::parse_platform(uq.text(1)).value_or(model::Platform::kIos);
      u.runtime_version = uq.text(2);
      u.extra_json = uq.text(3);
      u.metadata_json = uq.text(4);
      u.created_at_ms = clock.created_at;
      u.rollout_salt = base64url_encode(crypto::random_bytes(12));
      copies.emplace_back(uq.text(0), std::move(u));
    }
    if (copies.empty()) return invalid_argument("that group has no updates to republish (roll-back markers are not republished)");
    json detail = {{"from", group_id}, {"group_id", result.group_id}};
    for (auto& [from_id, u] : copies) {
      OTA_TRY(tx.execute("INSERT INTO updates (id, group_id, app_id, branch_id, platform, runtime_version, kind, "
                         "created_at_ms, extra_json, metadata_json, rollout_percent, rollout_salt) "
                         "VALUES (?, ?, ?, ?, ?, ?, 'update', ?, ?, ?, 100, ?)",
                         u.id, u.group_id, clock.app_id, branch_id, model::platform_name(u.platform), u.runtime_version,
                         clock.created_at, u.extra_json, u.metadata_json, u.rollout_salt));
      OTA_TRY(tx.execute("INSERT INTO update_assets (update_id, position, sha256, file_extension) SELECT ?, position, "
                         "sha256, file_extension FROM update_assets WHERE update_id = ?",
                         u.id, from_id));
      result.updates.push_back(std::move(u));
    }
    OTA_TRY(tx.execute("UPDATE apps SET last_created_at_ms = ? WHERE id = ?", clock.created_at, clock.app_id));
    return auth::audit(tx, actor, {"update.republish", clock.app_id, result.group_id, detail.dump()}, now);
  });
  OTA_TRY(std::move(committed).context("republish " + std::string(group_id)));
  spdlog::info("republish ok app={} from={} group={}", app, group_id, result.group_id);
  return result;
}

Result<RollbackRequest> parse_rollback_request(std::string_view app, std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("the request body must be a JSON object");
  RollbackRequest r;
  r.app = std::string(app);
  OTA_ASSIGN_OR_RETURN(r.branch, optional_string(j, "branch", 64));
  OTA_ASSIGN_OR_RETURN(r.channel, optional_string(j, "channel", 64));
  OTA_ASSIGN_OR_RETURN(auto message, optional_string(j, "message", 1024));
  r.message = message.value_or("");
  OTA_ASSIGN_OR_RETURN(auto rv, optional_string(j, "runtime_version", 256));
  if (!rv) return invalid_argument("\"runtime_version\" is required: the binaries to roll back");
  r.runtime_version = *rv;
  OTA_TRY(validate_runtime_version(r.runtime_version));
  OTA_ASSIGN_OR_RETURN(auto platform, optional_string(j, "platform", 16));
  std::string p = platform.value_or("all");
  if (p == "all") {
    r.platforms = {model::Platform::kIos, model::Platform::kAndroid};
  } else if (auto one = model::parse_platform(p)) {
    r.platforms = {*one};
  } else {
    return invalid_argument("\"platform\" must be ios, android or all");
  }
  return r;
}

Result<CommitResult> Publisher::roll_back_to_embedded(const RollbackRequest& req, const auth::Actor& actor) {
  if (req.branch && req.channel) return invalid_argument("give either a branch or a channel, not both");
  if (req.branch) OTA_TRY(repos::validate_name("branch", *req.branch));
  if (req.channel) OTA_TRY(repos::validate_name("channel", *req.channel));
  CommitResult result;
  int64_t now = clock_.now_ms();
  storage::BlobLease no_blobs = storage_.lease();
  Status committed = storage_.commit(no_blobs, [&](metadata::WriteTransaction& tx) -> Status {
    OTA_ASSIGN_OR_RETURN(AppClock clock, next_created_at(tx, req.app, now));
    OTA_ASSIGN_OR_RETURN(int64_t branch_id, resolve_branch(tx, clock.app_id, req.branch, req.channel, now));
    result.app_id = clock.app_id;
    result.created_at_ms = clock.created_at;
    result.group_id = format_uuid_v4(crypto::random_bytes(16));
    OTA_TRY(tx.execute("INSERT INTO update_groups (id, app_id, branch_id, message, created_at_ms) VALUES (?, ?, ?, ?, ?)",
                       result.group_id, clock.app_id, branch_id, req.message, clock.created_at));
    json detail = {{"group_id", result.group_id}, {"runtime_version", req.runtime_version}, {"platforms", json::array()}};
    for (model::Platform p : req.platforms) {
      model::Update u;
      u.id = format_uuid_v4(crypto::random_bytes(16));
      u.group_id = result.group_id;
      u.platform = p;
      u.runtime_version = req.runtime_version;
      u.kind = model::UpdateKind::kRollback;
      u.created_at_ms = clock.created_at;
      OTA_TRY(tx.execute("INSERT INTO updates (id, group_id, app_id, branch_id, platform, runtime_version, kind, "
                         "created_at_ms) VALUES (?, ?, ?, ?, ?, ?, 'rollback', ?)",
                         u.id, u.group_id, clock.app_id, branch_id, model::platform_name(p), u.runtime_version,
                         clock.created_at));
      detail["platforms"].push_back(model::platform_name(p));
      result.updates.push_back(std::move(u));
    }
    OTA_TRY(tx.execute("UPDATE apps SET last_created_at_ms = ? WHERE id = ?", clock.created_at, clock.app_id));
    return auth::audit(tx, actor, {"update.rollback_to_embedded", clock.app_id, result.group_id, detail.dump()}, now);
  });
  OTA_TRY(std::move(committed).context("roll back " + req.app));
  spdlog::info("rollback ok app={} group={} runtime={}", req.app, result.group_id, req.runtime_version);
  return result;
}

}  // namespace ota::publish
