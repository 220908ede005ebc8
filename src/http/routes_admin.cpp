// The admin page (web/, compiled in) and what it needs beyond the publishing API: sessions that
// turn a token into an HttpOnly cookie, tokens and the audit log.
#include <map>

#include <nlohmann/json.hpp>

#include "auth/sessions.h"
#include "common/clock.h"
#include "common/embedded_file.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "http/errors.h"
#include "http/negotiation.h"
#include "http/request_context.h"
#include "http/routes.h"

namespace ota::http {

std::span<const EmbeddedFile> embedded_web_files();

namespace {

using nlohmann::json;

// Nothing on the page may come from anywhere else, run inline, or be framed.
constexpr char kAdminCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct WebFile {
  std::string_view bytes;
  std::string content_type;
  std::string etag;
};

std::string content_type_for(std::string_view path) {
  if (path.ends_with(".html")) return "text/html; charset=utf-8";
  if (path.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (path.ends_with(".css")) return "text/css; charset=utf-8";
  if (path.ends_with(".svg")) return "image/svg+xml";
  if (path.ends_with(".png")) return "image/png";
  if (path.ends_with(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

const std::map<std::string, WebFile, std::less<>>& web_files() {
  static const std::map<std::string, WebFile, std::less<>> files = [] {
    std::map<std::string, WebFile, std::less<>> out;
    for (const auto& f : embedded_web_files()) {
      out[std::string(f.path)] = {f.bytes, content_type_for(f.path), "\"" + crypto::sha256(f.bytes).base64url() + "\""};
    }
    return out;
  }();
  return files;
}

void set_page_headers(httplib::Response& res) {
  res.set_header("Content-Security-Policy", kAdminCsp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
}

void serve_web_file(const httplib::Request& req, httplib::Response& res, std::string_view name) {
  set_page_headers(res);
  const auto& files = web_files();
  auto it = files.find(name);
  if (it == files.end()) {
    send_error(res, 404, "not_found", "no such file in the admin page: " + std::string(name.substr(0, 100)));
    return;
  }
  const WebFile& f = it->second;
  res.set_header("ETag", f.etag);
  // Revalidated on every load, so an upgraded server's page is picked up at once.
  res.set_header("Cache-Control", "no-cache");
  if (if_none_match_matches(req.get_header_value("If-None-Match"), f.etag)) {
    res.status = 304;
    return;
  }
  std::string_view bytes = f.bytes;
  res.set_content_provider(bytes.size(), f.content_type, [bytes](size_t off, size_t len, httplib::DataSink& sink) {
    return sink.write(bytes.data() + off, std::min(len, bytes.size() - off));
  });
}

json session_json(const auth::Session& s) {
  return {{"csrf_token", s.csrf_token},
          {"expires_at_ms", s.expires_at_ms},
          {"token",
           {{"id", s.token.id},
            {"name", s.token.name},
            {"scope", auth::scope_name(s.token.scope)},
            {"app", s.token.app_name ? json(*s.token.app_name) : json(nullptr)}}}};
}

json token_json(const auth::TokenInfo& t) {
  auto opt = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", t.id},
          {"name", t.name},
          {"scope", auth::scope_name(t.scope)},
          {"app", t.app_name ? json(*t.app_name) : json(nullptr)},
          {"created_at_ms", t.created_at_ms},
          {"expires_at_ms", opt(t.expires_at_ms)},
          {"revoked_at_ms", opt(t.revoked_at_ms)},
          {"last_used_at_ms", opt(t.last_used_at_ms)}};
}

std::string session_cookie(const std::string& value, int64_t max_age_s, bool secure) {
  return std::string(kSessionCookie) + "=" + value +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age_s) + (secure ? "; Secure" : "");
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  for (std::string_view part : split(header, ';')) {
    part = trim(part);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(part.substr(0, eq)) == name) return std::string(trim(part.substr(eq + 1)));
  }
  return std::nullopt;
}

void install_admin_routes(httplib::Server& svr, const Services& s, const ServerOptions& options) {
  const Services* services = &s;
  svr.Get("/admin", [](const httplib::Request&, httplib::Response& res) {
    res.status = 308;
    res.set_header("Location", "/admin/");
  });
  svr.Get("/admin/",
          [](const httplib::Request& req, httplib::Response& res) { serve_web_file(req, res, "index.html"); });
  svr.Get("/admin/([A-Za-z0-9._-]{1,64})",
          [](const httplib::Request& req, httplib::Response& res) { serve_web_file(req, res, req.matches[1].str()); });

  bool secure = options.secure_cookies;
  int64_t ttl_ms = options.admin_session_ttl_s * 1000;
  svr.Post("/api/v1/session", [services, secure, ttl_ms](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    if (!body->contains("token") || !(*body)["token"].is_string()) {
      return send_error(res, 400, "invalid_argument", "send {\"token\": \"ota_...\"} with an admin token");
    }
    int64_t now = services->clock->now_ms();
    auto session =
        auth::create_session(services->storage->db(), (*body)["token"].get<std::string>(), ttl_ms, peer(req), now);
    if (!session) return send_result_error(res, session.error());
    res.set_header("Set-Cookie", session_cookie(session->id, (session->expires_at_ms - now) / 1000, secure));
    send_json(res, 200, session_json(*session).dump());
  });
  svr.Get("/api/v1/session", [](const httplib::Request&, httplib::Response& res) {
    const auto& session = current_request().session;
    if (!session) {
      return send_error(res, 401, "unauthorized", "this endpoint reports the admin page's session; sign in first");
    }
    send_json(res, 200, session_json(*session).dump());
  });
  svr.Delete("/api/v1/session", [services, secure](const httplib::Request& req, httplib::Response& res) {
    auto cookie = cookie_value(req.get_header_value("Cookie"), kSessionCookie);
    if (Status st = auth::end_session(services->storage->db(), cookie.value_or("")); !st) {
      return send_result_error(res, st.error());
    }
    res.set_header("Set-Cookie", session_cookie("", 0, secure));
    send_json(res, 200, R"({"signed_out":true})");
  });

  svr.Get("/api/v1/tokens", [services](const httplib::Request&, httplib::Response& res) {
    auto tokens = auth::list_tokens(services->storage->db());
    if (!tokens) return send_result_error(res, tokens.error());
    json out = json::array();
    for (const auto& t : *tokens) out.push_back(token_json(t));
    send_json(res, 200, json{{"tokens", out}}.dump());
  });
  svr.Post("/api/v1/tokens", [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    auth::TokenSpec spec;
    if (!body->contains("name") || !(*body)["name"].is_string()) {
      return send_error(res, 400, "invalid_argument", "\"name\" is required: say what the token is for");
    }
    spec.name = (*body)["name"];
    std::string scope = body->value("scope", std::string("read"));
    auto parsed = auth::parse_scope(scope);
    if (!parsed) return send_error(res, 400, "invalid_argument", "\"scope\" is one of read, publish, admin");
    spec.scope = *parsed;
    if (body->contains("app") && !(*body)["app"].is_null()) {
      if (!(*body)["app"].is_string()) return send_error(res, 400, "invalid_argument", "\"app\" must be an app name");
      spec.app = (*body)["app"].get<std::string>();
    }
    int64_t now = services->clock->now_ms();
    if (body->contains("expires_in_days") && !(*body)["expires_in_days"].is_null()) {
      const auto& days = (*body)["expires_in_days"];
      if (!days.is_number_integer() || days.get<int64_t>() < 1 || days.get<int64_t>() > 3650) {
        return send_error(res, 400, "invalid_argument", "\"expires_in_days\" is a whole number from 1 to 3650");
      }
      spec.expires_at_ms = now + days.get<int64_t>() * 86'400'000;
    }
    auto tx = services->storage->db().begin_write();
    if (!tx) return send_result_error(res, tx.error());
    auto created = auth::create_token(*tx, spec, now);
    if (!created) return send_result_error(res, created.error());
    const auto& by = current_request().token;
    Status audited = auth::audit(
        *tx, {by ? by->id : "anonymous", peer(req)},
        {"token.create", created->info.app_id, created->info.id, json{{"name", spec.name}, {"scope", scope}}.dump()},
        now);
    if (!audited) return send_result_error(res, audited.error());
    if (Status st = tx->commit(); !st) return send_result_error(res, st.error());
    send_json(res, 201, json{{"token", created->token}, {"info", token_json(created->info)}}.dump());
  });
  svr.Delete("/api/v1/tokens/([A-Za-z0-9]{12})", [services](const httplib::Request& req, httplib::Response& res) {
    std::string id = req.matches[1].str();
    int64_t now = services->clock->now_ms();
    auto tx = services->storage->db().begin_write();
    if (!tx) return send_result_error(res, tx.error());
    if (Status st = auth::revoke_token(*tx, id, now); !st) return send_result_error(res, st.error());
    const auto& by = current_request().token;
    if (Status st =
            auth::audit(*tx, {by ? by->id : "anonymous", peer(req)}, {"token.revoke", std::nullopt, id, "{}"}, now);
        !st) {
      return send_result_error(res, st.error());
    }
    if (Status st = tx->commit(); !st) return send_result_error(res, st.error());
    send_json(res, 200, json{{"revoked", id}}.dump());
  });

  svr.Get("/api/v1/audit", [services](const httplib::Request& req, httplib::Response& res) {
    auth::AuditQuery query;
    if (req.has_param("limit")) {
      auto limit = parse_uint(req.get_param_value("limit"));
      if (!limit || *limit < 1 || *limit > 500) return send_error(res, 400, "invalid_argument", "limit is 1 to 500");
      query.limit = static_cast<int>(*limit);
    }
    if (req.has_param("before")) {
      auto before = parse_uint(req.get_param_value("before"));
      if (!before) return send_error(res, 400, "invalid_argument", "before is an entry id from a previous page");
      query.before_id = static_cast<int64_t>(*before);
    }
    if (req.has_param("app") && !req.get_param_value("app").empty()) {
      auto tx = services->storage->db().begin_read();
      if (!tx) return send_result_error(res, tx.error());
      auto q = tx->query("SELECT id FROM apps WHERE name = ?", req.get_param_value("app"));
      if (!q) return send_result_error(res, q.error());
      auto found = q->next();
      if (!found) return send_result_error(res, found.error());
      if (!*found)
        return send_error(res, 404, "not_found", "no app named \"" + req.get_param_value("app").substr(0, 80) + "\"");
      query.app_id = q->int64(0);
    }
    auto entries = auth::list_audit(services->storage->db(), query);
    if (!entries) return send_result_error(res, entries.error());
    json out = json::array();
    for (const auto& e : *entries) {
      json detail = json::parse(e.detail_json, nullptr, false);
      out.push_back({{"id", e.id},
                     {"at_ms", e.at_ms},
                     {"at", format_iso8601_ms(e.at_ms)},
                     {"actor", e.actor},
                     {"actor_name", e.actor_name},
                     {"peer", e.peer},
                     {"action", e.action},
                     {"app", e.app ? json(*e.app) : json(nullptr)},
                     {"target", e.target},
                     {"detail", detail.is_discarded() ? json(e.detail_json) : detail}});
    }
    json next = static_cast<int>(entries->size()) == query.limit && !entries->empty() ? json(entries->back().id)
                                                                                      : json(nullptr);
    send_json(res, 200, json{{"entries", out}, {"next_before", next}}.dump());
  });
}

}  // namespace ota::http
