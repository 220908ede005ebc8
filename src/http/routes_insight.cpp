// Seeing what the server does: adoption per update and day, the "why does this device get that"
// explainer, and GET /metrics for Prometheus.
#include <map>

#include <nlohmann/json.hpp>

#include "admin/adoption.h"
#include "admin/releases.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "http/errors.h"
#include "http/request_context.h"
#include "http/routes.h"
#include "protocol/expo/explain.h"
#include "telemetry/prometheus.h"

namespace ota::http {
namespace {

using nlohmann::json;

// The device's headers, from query parameters (the admin page) or, failing those, from the
// request's own headers (`curl -H 'expo-platform: ios' ...`).
class ExplainHeaders final : public expo::HeaderSource {
 public:
  explicit ExplainHeaders(const httplib::Request& req) {
    static const std::pair<const char*, const char*> kParams[] = {
        {"platform", "expo-platform"},
        {"runtime_version", "expo-runtime-version"},
        {"channel", "expo-channel-name"},
        {"current_update_id", "expo-current-update-id"},
        {"embedded_update_id", "expo-embedded-update-id"},
        {"client_id", "eas-client-id"},
        {"protocol_version", "expo-protocol-version"},
        {"recent_failed_update_ids", "expo-recent-failed-update-ids"},
    };
    for (const auto& [param, header] : kParams) {
      std::string value = req.has_param(param) ? req.get_param_value(param) : req.get_header_value(header);
      if (!value.empty()) values_[header] = value;
    }
    // The admin page asks as today's clients do: protocol 1, multipart.
    values_.try_emplace("expo-protocol-version", "1");
  }
  size_t count(std::string_view name) const override { return values_.count(lower(name)); }
  std::optional<std::string_view> get(std::string_view name) const override {
    auto it = values_.find(lower(name));
    if (it == values_.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  static std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }
  std::map<std::string, std::string> values_;
};

json explanation_json(const expo::Explanation& e) {
  json steps = json::array();
  for (const auto& s : e.steps) steps.push_back({{"rule", s.rule}, {"result", s.result}, {"detail", s.detail}});
  json candidates = json::array();
  for (const auto& c : e.candidates) {
    candidates.push_back({{"id", c.id},
                          {"group_id", c.group_id},
                          {"created_at", format_iso8601_ms(c.created_at_ms)},
                          {"rollout_percent", c.rollout_percent},
                          {"kind", c.kind},
                          {"verdict", c.verdict},
                          {"reason", c.reason}});
  }
  return {{"outcome", e.outcome}, {"update_id", e.update_id ? json(*e.update_id) : json(nullptr)},
          {"summary", e.summary}, {"branch", e.branch},
          {"steps", steps},       {"candidates", candidates}};
}

// What devices of the app asked for recently, each marked with whether its (channel, runtime
// version, platform) has anything servable right now.
json runtime_checkins_json(const Services& services, const expo::AppSnapshot& app, bool only_unserved) {
  json out = json::array();
  auto checkins = admin::runtime_checkins(services.storage->db(), app.app.name, 200);
  if (!checkins) return out;
  for (const auto& c : *checkins) {
    auto platform = model::parse_platform(c.platform);
    auto ch = app.channels.find(c.channel);
    bool served = false;
    if (platform && ch != app.channels.end()) {
      served = app.streams.count(expo::stream_key(ch->second.branch_id, c.runtime_version, *platform)) > 0;
      if (!served && ch->second.split_branch_id != 0) {
        served = app.streams.count(expo::stream_key(ch->second.split_branch_id, c.runtime_version, *platform)) > 0;
      }
    }
    if (served && only_unserved) continue;
    json j = {{"platform", c.platform}, {"runtime_version", c.runtime_version}, {"channel", c.channel},
              {"checks", c.checks},     {"first_seen_ms", c.first_seen_ms},     {"last_seen_ms", c.last_seen_ms}};
    if (!only_unserved) j["served"] = served;
    out.push_back(std::move(j));
  }
  return out;
}

json day_json(const admin::DayUsage& d) {
  return {{"served", d.served},
          {"downloads", d.downloads},
          {"devices", d.devices},
          {"failures", d.failure_reports},
          {"failed_devices", d.failed_devices}};
}

void flush_usage(const Services& services) {
  if (services.usage == nullptr) return;
  // Best effort: a report from slightly older counts beats no report.
  if (Status st = services.usage->flush(services.storage->db()); !st) {
    spdlog::warn("usage flush failed: {}", st.error().message());
  }
}

void write_metrics(const Services& services, telemetry::PrometheusWriter& w) {
  w.family("otaserver_build_info", "The running otaserver's version.", "gauge");
  w.sample("otaserver_build_info", {{"version", services.health.version}}, uint64_t{1});
  w.family("otaserver_uptime_seconds", "Seconds since the server started.", "gauge");
  w.sample("otaserver_uptime_seconds", {},
           static_cast<double>(services.clock->now_ms() - services.started_at_ms) / 1000.0);
  if (services.open_connections) {
    w.family("otaserver_http_open_connections", "Client connections open now, idle keep-alive ones included.",
             "gauge");
    w.sample("otaserver_http_open_connections", {}, static_cast<uint64_t>(services.open_connections()));
  }
  if (services.http_metrics != nullptr) services.http_metrics->write(w);

  if (services.events != nullptr) {
    const telemetry::EventCounters& e = *services.events;
    auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& v) {
      w.family(name, help, "counter");
      w.sample(name, {}, v.load(std::memory_order_relaxed));
    };
    counter("otaserver_publishes_total", "Update groups published (idempotent retries excluded).", e.publishes);
    counter("otaserver_rollbacks_total", "Roll backs: republished older updates and roll-back-to-embedded markers.",
            e.rollbacks);
    counter("otaserver_rollout_changes_total", "Rollout percentage changes.", e.rollout_changes);
    counter("otaserver_deactivations_total", "Update groups deactivated.", e.deactivations);
    counter("otaserver_patch_publishes_total", "Native patches published.", e.patch_publishes);
    counter("otaserver_patch_revocations_total", "Native patches revoked.", e.patch_revocations);
  }
  if (services.usage != nullptr) {
    w.family("otaserver_update_failure_reports_total",
             "Update ids reported by devices in expo-recent-failed-update-ids.", "counter");
    w.sample("otaserver_update_failure_reports_total", {}, services.usage->failure_reports_total());
    w.family("otaserver_usage_events_dropped_total",
             "Adoption events not counted because the in-memory table was full between flushes.", "counter");
    w.sample("otaserver_usage_events_dropped_total", {}, services.usage->dropped());
  }

  w.family("otaserver_blob_store_bytes", "Approximate bytes of the blob store on disk.", "gauge");
  w.sample("otaserver_blob_store_bytes", {}, services.storage->blobs().approximate_bytes());
  if (auto tx = services.storage->db().begin_read()) {
    if (auto q = tx->query("SELECT count(*), coalesce(sum(size), 0) FROM assets"); q && q->next().value_or(false)) {
      w.family("otaserver_assets", "Distinct asset files referenced by updates.", "gauge");
      w.sample("otaserver_assets", {}, static_cast<uint64_t>(q->int64(0)));
      w.family("otaserver_asset_bytes", "Bytes of those asset files.", "gauge");
      w.sample("otaserver_asset_bytes", {}, static_cast<uint64_t>(q->int64(1)));
    }
  }
  auto catalog = services.expo->snapshot();
  uint64_t streams = 0;
  for (const auto& [name, app] : catalog->apps) streams += app->streams.size();
  w.family("otaserver_catalog_apps", "Apps in the serving snapshot.", "gauge");
  w.sample("otaserver_catalog_apps", {}, static_cast<uint64_t>(catalog->apps.size()));
  w.family("otaserver_catalog_streams", "(branch, runtime version, platform) streams with servable updates.", "gauge");
  w.sample("otaserver_catalog_streams", {}, streams);
}

}  // namespace

void install_insight_routes(httplib::Server& svr, const Services& s, const ServerOptions& options) {
  const Services* services = &s;
  const std::string app = "([A-Za-z0-9._+-]{1,64})";

  svr.Get("/api/v1/apps/" + app + "/explain", [services](const httplib::Request& req, httplib::Response& res) {
    ExplainHeaders headers(req);
    auto parsed = expo::parse_manifest_request(headers);
    if (!parsed) return send_result_error(res, parsed.error());
    auto catalog = services->expo->snapshot();
    auto app_it = catalog->apps.find(req.matches[1].str());
    if (app_it == catalog->apps.end())
      return send_error(res, 404, "not_found", "no app named \"" + req.matches[1].str() + "\"");
    const expo::AppSnapshot& snapshot = *app_it->second;

    // Deactivated updates of the device's stream are not in the snapshot; name them from the database.
    std::vector<expo::InactiveUpdate> inactive;
    if (auto branch = expo::routed_branch(snapshot, *parsed)) {
      admin::UpdateFilter filter;
      filter.branch = snapshot.branch_names.count(*branch) ? snapshot.branch_names.at(*branch) : "";
      filter.runtime_version = parsed->runtime_version;
      filter.platform = parsed->platform;
      filter.limit = 50;
      auto rows = admin::list_updates(services->storage->db(), snapshot.app.name, filter);
      if (!rows) return send_result_error(res, rows.error());
      for (const auto& r : *rows) {
        if (r.state != "active") inactive.push_back({r.id, r.group_id, r.created_at_ms, r.state});
      }
    }
    json out = explanation_json(expo::explain(snapshot, *parsed, inactive));
    flush_usage(*services);
    out["unserved_runtime_versions"] = runtime_checkins_json(*services, snapshot, true);
    send_json(res, 200, out.dump());
  });

  svr.Get("/api/v1/apps/" + app + "/runtime-versions", [services](const httplib::Request& req, httplib::Response& res) {
    auto catalog = services->expo->snapshot();
    auto app_it = catalog->apps.find(req.matches[1].str());
    if (app_it == catalog->apps.end())
      return send_error(res, 404, "not_found", "no app named \"" + req.matches[1].str() + "\"");
    flush_usage(*services);
    send_json(res, 200, json{{"runtime_versions", runtime_checkins_json(*services, *app_it->second, false)}}.dump());
  });

  svr.Get("/api/v1/apps/" + app + "/adoption", [services](const httplib::Request& req, httplib::Response& res) {
    int days = 14;
    if (req.has_param("days")) {
      auto d = parse_uint(req.get_param_value("days"));
      if (!d || *d < 1 || *d > 366) return send_error(res, 400, "invalid_argument", "days is 1 to 366");
      days = static_cast<int>(*d);
    }
    flush_usage(*services);
    auto report = admin::adoption(services->storage->db(), req.matches[1].str(), days, services->clock->now_ms());
    if (!report) return send_result_error(res, report.error());
    json day_names = json::array();
    for (int64_t d = report->first_day; d <= report->last_day; ++d) day_names.push_back(telemetry::day_text(d));
    json updates = json::array(), patches = json::array();
    for (const auto& subject : report->subjects) {
      // Every day of the period, zeros included, so charts need no gap filling.
      json series = json::array();
      size_t next = 0;
      for (int64_t d = report->first_day; d <= report->last_day; ++d) {
        admin::DayUsage day;
        day.day = d;
        if (next < subject.days.size() && subject.days[next].day == d) day = subject.days[next++];
        json j = day_json(day);
        j["day"] = telemetry::day_text(d);
        series.push_back(std::move(j));
      }
      json item = {{"id", subject.id},
                   {"platform", subject.platform},
                   {"message", subject.message},
                   {"created_at", format_iso8601_ms(subject.created_at_ms)},
                   {"totals", day_json(subject.total)},
                   {"series", series}};
      if (subject.subject == "update") {
        item["group_id"] = subject.group_id;
        item["runtime_version"] = subject.runtime_version;
        item["branch"] = subject.branch;
        item["kind"] = subject.kind;
        updates.push_back(std::move(item));
      } else {
        item["range"] = subject.runtime_version;
        patches.push_back(std::move(item));
      }
    }
    send_json(res, 200, json{{"days", day_names}, {"updates", updates}, {"patches", patches}}.dump());
  });

  std::string metrics_token = options.metrics_token;
  svr.Get("/metrics", [services, metrics_token](const httplib::Request& req, httplib::Response& res) {
    if (!metrics_token.empty()) {
      std::string presented(trim(req.get_header_value("Authorization")));
      std::string expected = "Bearer " + metrics_token;
      if (presented.size() != expected.size() || !crypto::constant_time_equals(presented, expected)) {
        res.set_header("WWW-Authenticate", "Bearer");
        return send_error(res, 401, "unauthorized", "GET /metrics needs `Authorization: Bearer <metrics_token>`");
      }
    }
    telemetry::PrometheusWriter w;
    write_metrics(*services, w);
    res.set_header("Cache-Control", "no-store");
    res.set_content(w.take(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace ota::http
