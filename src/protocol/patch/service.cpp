#include "protocol/patch/service.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/log.h"
#include "common/strings.h"
#include "crypto/seal.h"
#include "model/rollout.h"

namespace ota::patch {
namespace {

using nlohmann::json;

std::string link_mac(std::string_view key, std::string_view nonce, std::string_view exp) {
  auto m = crypto::hmac_sha256(key, "patch-link\n" + std::string(nonce) + "\n" + std::string(exp));
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()));
}

// The client may name what it holds by the file's digests or by the served bytes' (they differ
// when the app puts the signature on the first line).
bool same_hash(const ServablePatch& p, std::string_view have) {
  std::string lower = to_lower(have);
  return have == p.sha256.base64url() || lower == p.sha256.hex() || lower == p.md5 ||
         have == p.body_sha256.base64url() || lower == p.body_sha256.hex() || lower == p.body_md5;
}

}  // namespace

PatchService::PatchService(storage::Storage& storage, const Clock& clock, std::string server_secret,
                           std::string public_url, int64_t link_ttl_ms, telemetry::UsageRecorder* usage)
    : storage_(storage),
      usage_(usage),
      clock_(clock),
      link_key_(crypto::derive_key(server_secret, "patch-links")),
      public_url_(std::move(public_url)),
      link_ttl_ms_(link_ttl_ms),
      catalog_(std::make_shared<const Catalog>()) {}

Status PatchService::reload() {
  std::lock_guard lock(reload_mutex_);
  auto next = std::make_shared<Catalog>();
  std::unordered_map<int64_t, std::shared_ptr<AppPatches>> by_id;
  OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_read());
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, name, patch_signature_line, patch_revoked_answer, "
                                          "patch_path_template FROM apps"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      auto a = std::make_shared<AppPatches>();
      a->app_id = q.int64(0);
      a->name = q.text(1);
      a->signature_line = q.int64(2) != 0;
      a->revoked_answer_empty = q.text(3) == "empty";
      a->path_template = q.optional_text(4);
      by_id[a->app_id] = a;
    }
  }
  // Patches are small and few per app; all of them stay in memory.
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, app_id, platform, version_range, build, seq, sha256, md5, signature, "
                                        "policy, rollout_percent, rollout_salt, preview_devices, created_at_ms, "
                                        "revoked_at_ms FROM patches ORDER BY app_id, platform, seq DESC"));
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    auto app = by_id.find(q.int64(1));
    if (app == by_id.end()) continue;
    auto p = std::make_shared<ServablePatch>();
    p->id = q.text(0);
    p->platform = model::parse_platform(q.text(2)).value_or(model::Platform::kIos);
    OTA_ASSIGN_OR_RETURN(p->range, model::VersionRange::parse(q.text(3)).context("patch " + p->id));
    p->build = q.optional_text(4);
    p->seq = q.int64(5);
    auto sha = crypto::Sha256::from_bytes(q.blob(6));
    if (!sha) return corruption("patch " + p->id + " has a malformed digest");
    p->sha256 = *sha;
    p->md5 = q.text(7);
    p->signature = q.text(8);
    p->policy = static_cast<int>(q.int64(9));
    p->rollout_percent = static_cast<int>(q.int64(10));
    p->rollout_salt = q.text(11);
    if (auto preview = q.optional_text(12)) {
      json list = json::parse(*preview, nullptr, false);
      if (list.is_array()) {
        for (const auto& d : list) {
          if (d.is_string()) p->preview_devices.push_back(d);
        }
      }
      std::sort(p->preview_devices.begin(), p->preview_devices.end());
    }
    p->created_at_ms = q.int64(13);
    p->revoked = !q.is_null(14);
    p->last_modified = format_http_date(p->created_at_ms);
    if (!p->revoked) {
      OTA_ASSIGN_OR_RETURN(auto blob, storage_.blobs().get(p->sha256));
      if (!blob) return corruption("patch " + p->id + " references a missing blob; run `otaserver fsck`");
      std::string body;
      if (app->second->signature_line) body = "//" + p->signature + "\n";
      body.append(blob->bytes());
      p->body_sha256 = crypto::sha256(body);
      p->body_md5 = crypto::md5_hex(body);
      p->etag = "\"" + p->body_sha256.base64url() + "\"";
      p->body = std::make_shared<const std::string>(std::move(body));
    }
    auto& list = p->platform == model::Platform::kIos ? app->second->ios : app->second->android;
    list.push_back(std::move(p));
  }
  for (auto& [id, app] : by_id) next->apps[app->name] = app;
  catalog_.store(std::move(next));
  return ok();
}

Result<PatchAnswer> PatchService::answer(std::string_view app_name, const PatchQuery& query) {
  auto catalog = catalog_.load();
  auto app_it = catalog->apps.find(std::string(app_name));
  if (app_it == catalog->apps.end()) return not_found("no app named \"" + std::string(app_name.substr(0, 80)) + "\"");
  auto version = model::parse_version(query.version_text);
  if (!version) return invalid_argument("the app version must be a dotted number such as 3.4.0");
  const AppPatches& app = *app_it->second;
  PatchAnswer out;
  out.hold = catalog;
  const auto& list = query.platform == model::Platform::kIos ? app.ios : app.android;
  for (const auto& p : list) {
    if (!p->range.contains(*version)) continue;
    if (p->build && *p->build != query.build) continue;
    if (!p->preview_devices.empty()) {
      if (!query.device_id || !std::binary_search(p->preview_devices.begin(), p->preview_devices.end(), *query.device_id)) {
        continue;
      }
    } else if (p->rollout_percent < 100) {
      if (!query.device_id) continue;
      if (!model::in_rollout(p->rollout_salt, *query.device_id, p->rollout_percent)) continue;
    }
    // The newest patch that applies decides: a revoked one answers "nothing" rather than handing
    // out an older patch nobody chose to serve.
    out.patch = p.get();
    out.outcome = p->revoked ? Outcome::kRevoked : Outcome::kPatch;
    out.empty_body = p->revoked && app.revoked_answer_empty;
    return out;
  }
  return out;
}

std::optional<std::pair<std::string, PatchQuery>> PatchService::match_template(std::string_view path,
                                                                               std::optional<std::string> device) const {
  auto catalog = catalog_.load();
  for (const auto& [name, app] : catalog->apps) {
    if (!app->path_template) continue;
    std::string_view tmpl = *app->path_template;
    PatchQuery q;
    q.device_id = device;
    size_t pi = 0, ti = 0;
    bool matched = true;
    while (ti < tmpl.size() && matched) {
      if (tmpl[ti] == '{') {
        size_t close = tmpl.find('}', ti);
        if (close == std::string_view::npos) return std::nullopt;
        std::string_view var = tmpl.substr(ti + 1, close - ti - 1);
        ti = close + 1;
        // A variable runs to the next literal character of the template (or the end).
        char stop = ti < tmpl.size() ? tmpl[ti] : '\0';
        size_t end = stop == '\0' ? path.size() : path.find(stop, pi);
        if (end == std::string_view::npos || end == pi || end - pi > 64) {
          matched = false;
          break;
        }
        std::string value(path.substr(pi, end - pi));
        pi = end;
        if (value.find('/') != std::string::npos) matched = false;
        if (var == "short" || var == "version") {
          q.version_text = value;
        } else if (var == "build") {
          q.build = value;
        } else if (var == "platform") {
          auto p = model::parse_platform(value);
          if (!p) matched = false;
          else q.platform = *p;
        } else {
          matched = false;
        }
      } else {
        if (pi >= path.size() || path[pi] != tmpl[ti]) matched = false;
        ++pi;
        ++ti;
      }
    }
    if (matched && pi == path.size() && model::parse_version(q.version_text)) return std::make_pair(name, q);
  }
  return std::nullopt;
}

Result<std::string> PatchService::check(std::string_view app, const PatchQuery& query, std::string_view have_hash) {
  OTA_ASSIGN_OR_RETURN(PatchAnswer a, answer(app, query));
  if (a.outcome == Outcome::kRevoked) {
    // Tell clients that hold it to drop it: "nothing newer" alone would read as "you are current".
    return json{{"update", false}, {"revoked", true}, {"patch_id", a.patch->id}}.dump();
  }
  if (a.outcome != Outcome::kPatch) return json{{"update", false}}.dump();
  const ServablePatch& p = *a.patch;
  record(p.id, query.version_text, false, query.device_id);
  if (!have_hash.empty() && same_hash(p, have_hash)) return json{{"update", false}}.dump();
  std::string nonce = base64url_encode(crypto::random_bytes(16));
  int64_t expires = clock_.now_ms() + link_ttl_ms_;
  std::string exp = std::to_string(expires / 1000);
  std::string token = nonce + "." + exp + "." + link_mac(link_key_, nonce, exp);
  {
    std::lock_guard lock(links_mutex_);
    // Expired links are dropped as new ones are made, so the table stays small.
    int64_t now = clock_.now_ms();
    for (auto it = links_.begin(); it != links_.end();) it = it->second.expires_ms <= now ? links_.erase(it) : std::next(it);
    links_[nonce] = {std::string(app), p.id, expires, false, query.version_text, query.device_id};
  }
  json out = {{"update", true},
              {"patch_id", p.id},
              {"seq", p.seq},
              {"sha256", p.body_sha256.base64url()},
              {"md5", p.body_md5},
              {"size", p.body->size()},
              {"policy", p.policy},
              {"signature", p.signature},
              {"url", public_url_ + "/patches/download/" + token},
              {"expires_at", format_iso8601_ms(expires)}};
  return out.dump();
}

Result<PatchService::Download> PatchService::download(std::string_view token) {
  auto parts = split(token, '.');
  if (token.size() > 200 || parts.size() != 3) return Error(ErrorCode::kForbidden, "malformed download link");
  if (!crypto::constant_time_equals(link_mac(link_key_, parts[0], parts[1]), parts[2])) {
    return Error(ErrorCode::kForbidden, "this download link was not issued by this server");
  }
  Link link;
  {
    std::lock_guard lock(links_mutex_);
    auto it = links_.find(std::string(parts[0]));
    if (it == links_.end()) {
      return Error(ErrorCode::kGone, "this download link has expired or was issued before a restart; check again");
    }
    if (it->second.used) return Error(ErrorCode::kGone, "this download link was used already; check again for a new one");
    if (it->second.expires_ms <= clock_.now_ms()) {
      links_.erase(it);
      return Error(ErrorCode::kGone, "this download link has expired; check again for a new one");
    }
    it->second.used = true;  // consumed before anything is sent: a second use can never start
    link = it->second;
  }
  auto catalog = catalog_.load();
  auto app = catalog->apps.find(link.app);
  if (app != catalog->apps.end()) {
    for (const auto* list : {&app->second->ios, &app->second->android}) {
      for (const auto& p : *list) {
        if (p->id != link.patch_id) continue;
        if (p->revoked) return Error(ErrorCode::kGone, "this patch was revoked");
        record(p->id, link.version, true, link.device_id);
        return Download{p.get(), catalog};
      }
    }
  }
  return Error(ErrorCode::kGone, "this patch is no longer available");
}

void PatchService::record(const std::string& patch_id, std::string_view version_text, bool download,
                          const std::optional<std::string>& device_id) {
  if (usage_ != nullptr) {
    std::optional<std::string_view> device;
    if (device_id) device = *device_id;
    if (download) {
      usage_->downloaded(telemetry::Subject::kPatch, patch_id, device);
    } else {
      usage_->served(telemetry::Subject::kPatch, patch_id, device);
    }
  }
  auto v = model::parse_version(version_text);
  std::lock_guard lock(counters_mutex_);
  auto& c = counters_[{patch_id, v ? v->str() : std::string(version_text.substr(0, 40))}];
  (download ? c.second : c.first) += 1;
}

Status PatchService::flush_counters() {
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> pending;
  {
    std::lock_guard lock(counters_mutex_);
    pending.swap(counters_);
  }
  if (pending.empty()) return ok();
  auto write = [&]() -> Status {
    OTA_ASSIGN_OR_RETURN(auto tx, storage_.db().begin_write());
    for (const auto& [key, c] : pending) {
      OTA_TRY(tx.execute("INSERT INTO patch_counters (patch_id, app_version, checks, downloads) "
                         "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM patches WHERE id = ?1) "
                         "ON CONFLICT (patch_id, app_version) DO UPDATE SET checks = checks + ?3, "
                         "downloads = downloads + ?4",
                         key.first, key.second, c.first, c.second));
    }
    return tx.commit();
  };
  Status st = write();
  if (!st) {
    // Put them back so a busy or full disk loses nothing; the next flush retries.
    std::lock_guard lock(counters_mutex_);
    for (const auto& [key, c] : pending) {
      auto& dst = counters_[key];
      dst.first += c.first;
      dst.second += c.second;
    }
  }
  return st;
}

}  // namespace ota::patch
