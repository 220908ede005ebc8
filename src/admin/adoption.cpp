#include "admin/adoption.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "storage/repos/branches.h"
#include "telemetry/hll.h"
#include "telemetry/usage.h"

namespace ota::admin {
namespace {

int64_t rounded(double estimate) { return static_cast<int64_t>(std::llround(estimate)); }

}  // namespace

Result<AdoptionReport> adoption(metadata::Database& db, std::string_view app, int days, int64_t now_ms) {
  days = std::clamp(days, 1, 366);
  AdoptionReport report;
  report.last_day = telemetry::utc_day(now_ms);
  report.first_day = report.last_day - days + 1;

  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));

  struct Sketches {
    telemetry::DeviceSketch devices, failed;
  };
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<Sketches> sketches;
  auto add_row = [&](SubjectUsage meta, metadata::Query& q, int first_col) {
    auto key = std::make_pair(meta.subject, meta.id);
    auto [it, inserted] = index.try_emplace(key, report.subjects.size());
    if (inserted) {
      report.subjects.push_back(std::move(meta));
      sketches.emplace_back();
    }
    SubjectUsage& s = report.subjects[it->second];
    Sketches& sk = sketches[it->second];
    DayUsage d;
    d.day = q.int64(first_col);
    d.served = q.int64(first_col + 1);
    d.downloads = q.int64(first_col + 2);
    d.failure_reports = q.int64(first_col + 3);
    if (!q.is_null(first_col + 4)) {
      std::string bytes = q.blob(first_col + 4);
      d.devices = rounded(telemetry::estimate_serialized(bytes));
      sk.devices.merge_serialized(bytes);
    }
    if (!q.is_null(first_col + 5)) {
      std::string bytes = q.blob(first_col + 5);
      d.failed_devices = rounded(telemetry::estimate_serialized(bytes));
      sk.failed.merge_serialized(bytes);
    }
    s.total.served += d.served;
    s.total.downloads += d.downloads;
    s.total.failure_reports += d.failure_reports;
    s.days.push_back(d);
  };

  {
    OTA_ASSIGN_OR_RETURN(auto q,
                         tx.query("SELECT u.id, u.group_id, u.platform, u.runtime_version, b.name, u.kind, g.message, "
                                  "u.created_at_ms, d.day, d.served, d.downloads, d.failure_reports, d.devices, "
                                  "d.failed_devices FROM usage_daily d JOIN updates u ON u.id = d.subject_id "
                                  "JOIN update_groups g ON g.id = u.group_id JOIN branches b ON b.id = u.branch_id "
                                  "WHERE d.subject = 'update' AND u.app_id = ? AND d.day BETWEEN ? AND ? "
                                  "ORDER BY u.created_at_ms DESC, u.id, d.day",
                                  app_id, report.first_day, report.last_day));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      SubjectUsage meta;
      meta.subject = "update";
      meta.id = q.text(0);
      meta.group_id = q.text(1);
      meta.platform = q.text(2);
      meta.runtime_version = q.text(3);
      meta.branch = q.text(4);
      meta.kind = q.text(5);
      meta.message = q.text(6);
      meta.created_at_ms = q.int64(7);
      add_row(std::move(meta), q, 8);
    }
  }
  {
    OTA_ASSIGN_OR_RETURN(
        auto q, tx.query("SELECT p.id, p.platform, p.version_range, p.message, p.created_at_ms, d.day, d.served, "
                         "d.downloads, d.failure_reports, d.devices, d.failed_devices FROM usage_daily d "
                         "JOIN patches p ON p.id = d.subject_id WHERE d.subject = 'patch' AND p.app_id = ? "
                         "AND d.day BETWEEN ? AND ? ORDER BY p.created_at_ms DESC, p.id, d.day",
                         app_id, report.first_day, report.last_day));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      SubjectUsage meta;
      meta.subject = "patch";
      meta.kind = "patch";
      meta.id = q.text(0);
      meta.platform = q.text(1);
      meta.runtime_version = q.text(2);
      meta.message = q.text(3);
      meta.created_at_ms = q.int64(4);
      add_row(std::move(meta), q, 5);
    }
  }
  for (size_t i = 0; i < report.subjects.size(); ++i) {
    report.subjects[i].total.devices = rounded(sketches[i].devices.estimate());
    report.subjects[i].total.failed_devices = rounded(sketches[i].failed.estimate());
  }
  return report;
}

Result<std::vector<RuntimeCheckin>> runtime_checkins(metadata::Database& db, std::string_view app, int limit) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(int64_t app_id, repos::app_id(tx, app));
  OTA_ASSIGN_OR_RETURN(auto q,
                       tx.query("SELECT platform, runtime_version, channel, checks, first_seen_ms, last_seen_ms "
                                "FROM runtime_checkins WHERE app_id = ? ORDER BY last_seen_ms DESC LIMIT ?",
                                app_id, static_cast<int64_t>(std::clamp(limit, 1, 1000))));
  std::vector<RuntimeCheckin> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    out.push_back({q.text(0), q.text(1), q.text(2), q.int64(3), q.int64(4), q.int64(5)});
  }
  return out;
}

}  // namespace ota::admin
