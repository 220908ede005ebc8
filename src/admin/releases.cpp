#include "admin/releases.h"

#include <nlohmann/json.hpp>

#include "crypto/digest.h"
#include "storage/repos/branches.h"

namespace ota::admin {
namespace {

using nlohmann::json;

// Checks the group belongs to the app; kNotFound otherwise.
Status check_group(metadata::WriteTransaction& tx, int64_t app_id, std::string_view group_id) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT 1 FROM update_groups WHERE id = ? AND app_id = ?", group_id, app_id));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) {
    return not_found("no update group \"" + std::string(group_id.substr(0, 64)) +
                     "\" in this app; `otaserver update list` shows them");
  }
  return ok();
}

}  // namespace

Result<std::vector<UpdateRow>> list_updates(metadata::Database& db, std::string_view app, const UpdateFilter& f) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto aq, tx.query("SELECT id FROM apps WHERE name = ?", app));
  OTA_ASSIGN_OR_RETURN(bool found, aq.next());
  if (!found) return not_found("no app named \"" + std::string(app.substr(0, 80)) + "\"");
  int64_t app_id = aq.int64(0);
  std::optional<std::string> platform;
  if (f.platform) platform = std::string(model::platform_name(*f.platform));
  OTA_ASSIGN_OR_RETURN(
      auto q, tx.query("SELECT u.id, u.group_id, b.name, u.platform, u.runtime_version, u.kind, u.created_at_ms, "
                       "u.rollout_percent, u.state, g.message, g.git_commit, g.git_branch, "
                       "(SELECT coalesce(sum(a.size), 0) FROM update_assets ua JOIN assets a ON a.sha256 = ua.sha256 "
                       " WHERE ua.update_id = u.id), "
                       "(SELECT count(*) FROM update_assets ua WHERE ua.update_id = u.id) "
                       "FROM updates u JOIN branches b ON b.id = u.branch_id JOIN update_groups g ON g.id = u.group_id "
                       "WHERE u.app_id = ?1 AND (?2 IS NULL OR b.name = ?2) AND (?3 IS NULL OR u.runtime_version = ?3) "
                       "AND (?4 IS NULL OR u.platform = ?4) ORDER BY u.created_at_ms DESC, u.platform LIMIT ?5",
                       app_id, f.branch, f.runtime_version, platform, std::clamp(f.limit, 1, 10000)));
  std::vector<UpdateRow> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    UpdateRow r;
    r.id = q.text(0);
    r.group_id = q.text(1);
    r.branch = q.text(2);
    r.platform = model::parse_platform(q.text(3)).value_or(model::Platform::kIos);
    r.runtime_version = q.text(4);
    r.kind = q.text(5);
    r.created_at_ms = q.int64(6);
    r.rollout_percent = static_cast<int>(q.int64(7));
    r.state = q.text(8);
    r.message = q.text(9);
    r.git_commit = q.optional_text(10);
    r.git_branch = q.optional_text(11);
    r.total_bytes = static_cast<uint64_t>(q.int64(12));
    r.asset_count = static_cast<int>(q.int64(13));
    out.push_back(std::move(r));
  }
  return out;
}

Status set_rollout(metadata::Database& db, std::string_view app, std::string_view group_id, int percent,
                   const auth::Actor& actor, int64_t now_ms) {
  if (percent < 0 || percent > 100) return invalid_argument("a rollout is a whole number from 0 to 100");
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_TRY(check_group(tx, app_id, group_id));
  OTA_TRY(tx.execute("UPDATE updates SET rollout_percent = ? WHERE group_id = ? AND kind = 'update'", percent, group_id));
  OTA_TRY(auth::audit(tx, actor, {"update.rollout", app_id, std::string(group_id), json{{"percent", percent}}.dump()},
                      now_ms));
  return tx.commit();
}

Status set_active(metadata::Database& db, std::string_view app, std::string_view group_id, bool active,
                  const auth::Actor& actor, int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_TRY(check_group(tx, app_id, group_id));
  OTA_TRY(tx.execute("UPDATE updates SET state = ? WHERE group_id = ?", active ? "active" : "deactivated", group_id));
  OTA_TRY(auth::audit(tx, actor, {active ? "update.activate" : "update.deactivate", app_id, std::string(group_id), "{}"},
                      now_ms));
  return tx.commit();
}

Status delete_group(metadata::Database& db, std::string_view app, std::string_view group_id, const auth::Actor& actor,
                    int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_TRY(check_group(tx, app_id, group_id));
  OTA_TRY(tx.execute("DELETE FROM usage_daily WHERE subject = 'update' AND subject_id IN (SELECT id FROM updates WHERE group_id = ?)",
                     group_id));
  OTA_TRY(tx.execute("DELETE FROM update_assets WHERE update_id IN (SELECT id FROM updates WHERE group_id = ?)",
                     group_id));
  OTA_TRY(tx.execute("DELETE FROM updates WHERE group_id = ?", group_id));
  OTA_TRY(tx.execute("DELETE FROM update_groups WHERE id = ?", group_id));
  OTA_TRY(auth::audit(tx, actor, {"update.delete", app_id, std::string(group_id), "{}"}, now_ms));
  return tx.commit();
}

Result<std::string> group_as_commit_json(metadata::Database& db, std::string_view app, std::string_view group_id) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto gq, tx.query("SELECT g.message, g.git_commit, g.git_branch, b.name, g.created_at_ms FROM "
                                         "update_groups g JOIN apps a ON a.id = g.app_id JOIN branches b ON "
                                         "b.id = g.branch_id WHERE a.name = ? AND g.id = ?",
                                         app, group_id));
  OTA_ASSIGN_OR_RETURN(bool found, gq.next());
  if (!found) return not_found("no update group \"" + std::string(group_id.substr(0, 64)) + "\" in this app");
  json out = {{"group_id", std::string(group_id)}, {"message", gq.text(0)}, {"branch", gq.text(3)},
              {"created_at_ms", gq.int64(4)}, {"platforms", json::object()}};
  json git = json::object();
  if (!gq.is_null(1)) git["commit"] = gq.text(1);
  if (!gq.is_null(2)) git["branch"] = gq.text(2);
  if (!git.empty()) out["git"] = git;
  OTA_ASSIGN_OR_RETURN(auto uq, tx.query("SELECT id, platform, runtime_version, kind, extra_json, metadata_json FROM "
                                         "updates WHERE group_id = ? ORDER BY platform",
                                         group_id));
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, uq.next());
    if (!row) break;
    if (uq.text(3) != "update") return invalid_argument("roll-back markers cannot be promoted; roll back on the target");
    json extra = json::parse(uq.text(4), nullptr, false);
    if (extra.is_object() && extra.contains("expoClient")) out["expo_client"] = extra["expoClient"];
    out["metadata"] = json::parse(uq.text(5), nullptr, false);
    json platform = {{"update_id", uq.text(0)}, {"runtime_version", uq.text(2)}, {"assets", json::array()}};
    OTA_ASSIGN_OR_RETURN(auto aq, tx.query("SELECT position, sha256, file_extension FROM update_assets WHERE "
                                           "update_id = ? ORDER BY position",
                                           uq.text(0)));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool arow, aq.next());
      if (!arow) break;
      auto d = crypto::Sha256::from_bytes(aq.blob(1));
      if (!d) return corruption("update " + uq.text(0) + " references a malformed digest");
      std::string ext = aq.text(2);
      if (!ext.empty() && ext.front() == '.') ext.erase(0, 1);
      json asset = {{"sha256", d->base64url()}, {"ext", ext}};
      if (aq.int64(0) == 0) {
        platform["launch_asset"] = asset;
      } else {
        platform["assets"].push_back(asset);
      }
    }
    out["platforms"][uq.text(1)] = platform;
  }
  return out.dump();
}

Result<std::vector<ChannelRow>> list_channels(metadata::Database& db, std::string_view app) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT c.name, b.name, s.name, c.split_percent FROM channels c "
                                        "JOIN apps a ON a.id = c.app_id JOIN branches b ON b.id = c.branch_id "
                                        "LEFT JOIN branches s ON s.id = c.split_branch_id WHERE a.name = ? "
                                        "ORDER BY c.name",
                                        app));
  std::vector<ChannelRow> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    out.push_back({q.text(0), q.text(1), q.optional_text(2), static_cast<int>(q.int64(3))});
  }
  return out;
}

Result<ChannelRow> set_channel(metadata::Database& db, std::string_view app, std::string_view channel,
                               std::string_view branch, std::optional<std::string> split_branch, int split_percent,
                               const auth::Actor& actor, int64_t now_ms) {
  OTA_TRY(repos::validate_name("channel", channel));
  if (split_percent < 0 || split_percent > 100) return invalid_argument("a split is a whole number from 0 to 100");
  if (split_branch && *split_branch == branch) return invalid_argument("a channel cannot split to the branch it points at");
  if (!split_branch) split_percent = 0;
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_ASSIGN_OR_RETURN(int64_t branch_id, repos::ensure_branch(tx, app_id, branch, now_ms));
  std::optional<int64_t> split_id;
  if (split_branch) {
    OTA_ASSIGN_OR_RETURN(split_id, repos::ensure_branch(tx, app_id, *split_branch, now_ms));
  }
  OTA_TRY(tx.execute("INSERT INTO channels (app_id, name, branch_id, split_branch_id, split_percent, created_at_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (app_id, name) DO UPDATE SET branch_id = ?3, "
                     "split_branch_id = ?4, split_percent = ?5",
                     app_id, channel, branch_id, split_id, split_percent, now_ms));
  json detail = {{"branch", branch}, {"split_branch", split_branch.value_or("")}, {"split_percent", split_percent}};
  OTA_TRY(auth::audit(tx, actor, {"channel.set", app_id, std::string(channel), detail.dump()}, now_ms));
  OTA_TRY(tx.commit());
  return ChannelRow{std::string(channel), std::string(branch), split_branch, split_percent};
}

}  // namespace ota::admin
