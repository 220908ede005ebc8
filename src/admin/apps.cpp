#include "admin/apps.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "storage/repos/branches.h"

namespace ota::admin {
namespace {

model::App read_app(metadata::Query& q) {
  model::App a;
  a.id = q.int64(0);
  a.name = q.text(1);
  a.default_channel = q.text(2);
  a.asset_tokens = q.int64(3) != 0;
  a.asset_token_ttl_s = q.int64(4);
  a.created_at_ms = q.int64(5);
  return a;
}

constexpr std::string_view kSelectApp =
    "SELECT id, name, default_channel, asset_tokens, asset_token_ttl_s, created_at_ms FROM apps";

}  // namespace

Result<model::App> create_app(metadata::Database& db, const AppSpec& spec, const auth::Actor& actor, int64_t now_ms) {
  OTA_TRY(repos::validate_name("app name", spec.name));
  OTA_TRY(repos::validate_name("channel", spec.default_channel));
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT 1 FROM apps WHERE name = ?", spec.name));
  OTA_ASSIGN_OR_RETURN(bool exists, q.next());
  if (exists) return conflict("an app named \"" + spec.name + "\" already exists");
  OTA_TRY(tx.execute("INSERT INTO apps (name, default_channel, created_at_ms) VALUES (?, ?, ?)", spec.name,
                     spec.default_channel, now_ms));
  int64_t app_id = tx.conn().last_insert_rowid();
  OTA_ASSIGN_OR_RETURN(int64_t branch_id, repos::ensure_branch(tx, app_id, spec.default_channel, now_ms));
  OTA_TRY(tx.execute("INSERT INTO channels (app_id, name, branch_id, created_at_ms) VALUES (?, ?, ?, ?)", app_id,
                     spec.default_channel, branch_id, now_ms));
  nlohmann::json detail = {{"default_channel", spec.default_channel}};
  OTA_TRY(auth::audit(tx, actor, {"app.create", app_id, spec.name, detail.dump()}, now_ms));
  OTA_TRY(tx.commit());
  model::App app;
  app.id = app_id;
  app.name = spec.name;
  app.default_channel = spec.default_channel;
  app.created_at_ms = now_ms;
  return app;
}

Result<model::App> get_app(metadata::ReadTransaction& tx, std::string_view name) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectApp) + " WHERE name = ?", name));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no app named \"" + std::string(name.substr(0, 80)) + "\"");
  return read_app(q);
}

Result<std::vector<model::App>> list_apps(metadata::Database& db) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectApp) + " ORDER BY name"));
  std::vector<model::App> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    out.push_back(read_app(q));
  }
  return out;
}

Result<model::App> update_app_settings(metadata::Database& db, std::string_view name, const AppSettings& settings,
                                       const auth::Actor& actor, int64_t now_ms) {
  if (settings.default_channel) OTA_TRY(repos::validate_name("channel", *settings.default_channel));
  if (settings.asset_token_ttl_s &&
      (*settings.asset_token_ttl_s < 3600 || *settings.asset_token_ttl_s > auth::kMaxAssetTokenTtlS)) {
    return invalid_argument("asset_token_ttl_s must be between 3600 (1 hour) and 604800 (7 days)");
  }
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectApp) + " WHERE name = ?", name));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no app named \"" + std::string(name.substr(0, 80)) + "\"");
  model::App app = read_app(q);
  nlohmann::json detail = nlohmann::json::object();
  if (settings.default_channel) {
    app.default_channel = *settings.default_channel;
    detail["default_channel"] = app.default_channel;
  }
  if (settings.asset_tokens) {
    app.asset_tokens = *settings.asset_tokens;
    detail["asset_tokens"] = app.asset_tokens;
  }
  if (settings.asset_token_ttl_s) {
    app.asset_token_ttl_s = *settings.asset_token_ttl_s;
    detail["asset_token_ttl_s"] = app.asset_token_ttl_s;
  }
  OTA_TRY(tx.execute("UPDATE apps SET default_channel = ?, asset_tokens = ?, asset_token_ttl_s = ? WHERE id = ?",
                     app.default_channel, app.asset_tokens ? 1 : 0, app.asset_token_ttl_s, app.id));
  if (settings.patch_path_template) {
    const std::string& t = *settings.patch_path_template;
    bool has_version = t.find("{short}") != std::string::npos || t.find("{version}") != std::string::npos;
    if (!t.empty() && (t.front() != '/' || !has_version || t.size() > 200 || t.starts_with("/api/") ||
                       t.starts_with("/apps/") || t.starts_with("/patches/"))) {
      return invalid_argument("a patch path template starts with / , contains {short} (or {version}), may contain "
                              "{build} and {platform}, and must not start with /api/, /apps/ or /patches/; e.g. "
                              "/rc/{short}/{build}.config");
    }
    if (!t.empty()) {
      OTA_ASSIGN_OR_RETURN(auto other, tx.query("SELECT name FROM apps WHERE patch_path_template = ? AND id != ?", t,
                                                app.id));
      OTA_ASSIGN_OR_RETURN(bool taken, other.next());
      if (taken) {
        return conflict("the app \"" + other.text(0) + "\" already serves patches at " + t +
                        "; give each app its own template (e.g. /rc/" + app.name + "/{short}/{build}.config)");
      }
    }
    OTA_TRY(tx.execute("UPDATE apps SET patch_path_template = ? WHERE id = ?",
                       t.empty() ? std::nullopt : std::optional<std::string>(t), app.id));
    detail["patch_path_template"] = t;
  }
  if (settings.patch_signature_line) {
    OTA_TRY(tx.execute("UPDATE apps SET patch_signature_line = ? WHERE id = ?", *settings.patch_signature_line ? 1 : 0,
                       app.id));
    detail["patch_signature_line"] = *settings.patch_signature_line;
  }
  if (settings.patch_revoked_answer) {
    if (*settings.patch_revoked_answer != "404" && *settings.patch_revoked_answer != "empty") {
      return invalid_argument("patch_revoked_answer is \"404\" or \"empty\"");
    }
    OTA_TRY(tx.execute("UPDATE apps SET patch_revoked_answer = ? WHERE id = ?", *settings.patch_revoked_answer, app.id));
    detail["patch_revoked_answer"] = *settings.patch_revoked_answer;
  }
  OTA_TRY(auth::audit(tx, actor, {"app.settings", app.id, app.name, detail.dump()}, now_ms));
  OTA_TRY(tx.commit());
  return app;
}

Result<auth::SigningKeyInfo> create_signing_key(metadata::Database& db, std::string_view app_name,
                                                std::string_view keyid, int validity_days,
                                                std::string_view server_secret, const auth::Actor& actor,
                                                int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id FROM apps WHERE name = ?", app_name));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no app named \"" + std::string(app_name.substr(0, 80)) + "\"");
  int64_t app_id = q.int64(0);
  OTA_ASSIGN_OR_RETURN(auto info, auth::generate_signing_key(tx, app_id, keyid, "otaserver " + std::string(app_name),
                                                             validity_days, server_secret, now_ms));
  nlohmann::json detail = {{"keyid", info.keyid}, {"not_after_ms", info.not_after_ms}};
  OTA_TRY(auth::audit(tx, actor, {"key.generate", app_id, std::string(keyid), detail.dump()}, now_ms));
  OTA_TRY(tx.commit());
  return info;
}

}  // namespace ota::admin
