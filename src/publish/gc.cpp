#include "publish/gc.h"

#include <set>

#include <nlohmann/json.hpp>

#include "common/log.h"

namespace ota::publish {
namespace {

// Groups to delete: per stream, updates beyond the app's retention that no device can be served.
Result<std::vector<std::string>> prunable_groups(metadata::WriteTransaction& tx) {
  OTA_ASSIGN_OR_RETURN(auto q,
                       tx.query("SELECT u.group_id, u.app_id, u.branch_id, u.runtime_version, u.platform, u.kind, "
                                "u.rollout_percent, u.state, "
                                "a.retain_updates FROM updates u JOIN apps a ON a.id = u.app_id "
                                "ORDER BY u.app_id, u.branch_id, u.runtime_version, u.platform, u.created_at_ms DESC"));
  std::set<std::string> keep, drop;
  std::string stream;
  int rank = 0;
  bool servable_end_seen = false;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    std::string key = std::to_string(q.int64(1)) + "/" + std::to_string(q.int64(2)) + "/" + q.text(3) + "/" + q.text(4);
    if (key != stream) {
      stream = key;
      rank = 0;
      servable_end_seen = false;
    }
    ++rank;
    bool active = q.text(7) == "active";
    // Still servable: every active update down to the first one all devices may take.
    bool servable = active && !servable_end_seen;
    if (active && (q.text(5) == "rollback" || q.int64(6) >= 100)) servable_end_seen = true;
    if (servable || rank <= q.int64(8)) {
      keep.insert(q.text(0));
    } else {
      drop.insert(q.text(0));
    }
  }
  // A group survives if any of its platforms must be kept.
  std::vector<std::string> out;
  for (const auto& g : drop) {
    if (!keep.contains(g)) out.push_back(g);
  }
  return out;
}

}  // namespace

Result<GcReport> collect_garbage(storage::Storage& storage, const GcOptions& options, const auth::Actor& actor,
                                 int64_t now_ms) {
  GcReport report;
  report.blob_bytes_before = 0;
  OTA_TRY(storage.blobs().for_each([&](const crypto::Sha256&, uint64_t size) {
    report.blob_bytes_before += size;
    return true;
  }));

  OTA_ASSIGN_OR_RETURN(auto tx, storage.db().begin_write());
  OTA_ASSIGN_OR_RETURN(auto groups, prunable_groups(tx));
  for (const auto& g : groups) {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT count(*) FROM updates WHERE group_id = ?", g));
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    report.updates_pruned += row ? static_cast<int>(q.int64(0)) : 0;
    OTA_TRY(
        tx.execute("DELETE FROM usage_daily WHERE subject = 'update' AND subject_id IN (SELECT id FROM updates WHERE "
                   "group_id = ?)",
                   g));
    OTA_TRY(tx.execute("DELETE FROM update_assets WHERE update_id IN (SELECT id FROM updates WHERE group_id = ?)", g));
    OTA_TRY(tx.execute("DELETE FROM updates WHERE group_id = ?", g));
    OTA_TRY(tx.execute("DELETE FROM update_groups WHERE id = ?", g));
  }
  report.groups_pruned = static_cast<int>(groups.size());

  // Asset rows nothing references any more (their variants go with them). A dry run makes the
  // same changes and rolls them back, so its numbers are exact.
  OTA_ASSIGN_OR_RETURN(int64_t removed, tx.execute("DELETE FROM assets WHERE sha256 NOT IN "
                                                   "(SELECT sha256 FROM update_assets)"));
  report.asset_rows_removed = static_cast<int>(removed);

  std::set<crypto::Sha256> referenced;
  {
    // Native patches keep their bytes in the same store: they are references too.
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT sha256 FROM update_assets UNION SELECT gzip_sha256 FROM assets "
                                          "WHERE gzip_sha256 IS NOT NULL UNION SELECT br_sha256 FROM assets WHERE "
                                          "br_sha256 IS NOT NULL UNION SELECT sha256 FROM patches"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      if (auto d = crypto::Sha256::from_bytes(q.blob(0))) referenced.insert(*d);
    }
  }

  report.sweep_skipped = now_ms - options.started_at_ms < options.grace_ms;
  std::vector<std::pair<crypto::Sha256, uint64_t>> garbage;
  OTA_TRY(storage.blobs().for_each([&](const crypto::Sha256& d, uint64_t size) {
    if (referenced.contains(d)) return true;
    if (report.sweep_skipped || storage.is_pinned(d) || storage.recently_uploaded(d, now_ms, options.grace_ms)) {
      ++report.blobs_kept_in_grace;
      return true;
    }
    garbage.emplace_back(d, size);
    return true;
  }));
  auto no_backup_in_progress = storage.hold_deletions();
  for (const auto& [d, size] : garbage) {
    if (!options.dry_run) OTA_TRY(storage.blobs().remove(d));
    ++report.blobs_removed;
    report.bytes_removed += size;
    report.removed.push_back(d);
  }
  if (options.dry_run) {
    (void)tx;  // destroyed without commit: rolled back
  } else {
    nlohmann::json detail = {{"groups_pruned", report.groups_pruned},
                             {"blobs_removed", report.blobs_removed},
                             {"bytes_removed", report.bytes_removed}};
    OTA_TRY(auth::audit(tx, actor, {"gc.run", std::nullopt, "", detail.dump()}, now_ms));
    OTA_TRY(tx.commit());
  }
  report.blob_bytes_after = report.blob_bytes_before - report.bytes_removed;  // what it is, or would be
  spdlog::info("gc groups_pruned={} updates_pruned={} blobs_removed={} bytes_removed={} kept_in_grace={} dry_run={}",
               report.groups_pruned, report.updates_pruned, report.blobs_removed, report.bytes_removed,
               report.blobs_kept_in_grace, options.dry_run);
  return report;
}

}  // namespace ota::publish
