#include "admin/patches.h"

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "crypto/digest.h"

namespace ota::admin {

Result<std::string> list_patches_json(metadata::Database& db, std::string_view app) {
  using nlohmann::json;
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto aq, tx.query("SELECT id FROM apps WHERE name = ?", app));
  OTA_ASSIGN_OR_RETURN(bool found, aq.next());
  if (!found) return not_found("no app named \"" + std::string(app.substr(0, 80)) + "\"");
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, platform, version_range, build, seq, size, md5, sha256, policy, "
                                        "rollout_percent, preview_devices, message, created_at_ms, revoked_at_ms, "
                                        "signed_offline FROM patches WHERE app_id = ? ORDER BY created_at_ms DESC, seq DESC",
                                        aq.int64(0)));
  json out = json::array();
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    auto sha = crypto::Sha256::from_bytes(q.blob(7));
    json p = {{"id", q.text(0)}, {"platform", q.text(1)}, {"range", q.text(2)}, {"build", q.optional_text(3).value_or("")},
              {"seq", q.int64(4)}, {"size", q.int64(5)}, {"md5", q.text(6)}, {"sha256", sha ? sha->base64url() : ""},
              {"policy", q.int64(8)}, {"rollout_percent", q.int64(9)},
              {"preview_devices", json::parse(q.optional_text(10).value_or("[]"), nullptr, false)},
              {"message", q.text(11)}, {"created_at", format_iso8601_ms(q.int64(12))},
              {"revoked", !q.is_null(13)}, {"signed_offline", q.int64(14) != 0}, {"checks", 0}, {"downloads", 0},
              {"by_version", json::object()}};
    OTA_ASSIGN_OR_RETURN(auto cq, tx.query("SELECT app_version, checks, downloads FROM patch_counters WHERE patch_id = ? "
                                           "ORDER BY app_version",
                                           q.text(0)));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool crow, cq.next());
      if (!crow) break;
      p["by_version"][cq.text(0)] = {{"checks", cq.int64(1)}, {"downloads", cq.int64(2)}};
      p["checks"] = p["checks"].get<int64_t>() + cq.int64(1);
      p["downloads"] = p["downloads"].get<int64_t>() + cq.int64(2);
    }
    out.push_back(std::move(p));
  }
  return json{{"patches", out}}.dump();
}

}  // namespace ota::admin
