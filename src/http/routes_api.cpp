// /api/v1: the admin and publishing API. Authentication and authorization run in the pre-routing
// guard, before any request body is read; a rejected request's connection is closed. Every
// mutation is audited by the layer below, in the transaction that makes it.
#include <atomic>
#include <regex>

#include <nlohmann/json.hpp>

#include "admin/apps.h"
#include "admin/patches.h"
#include "admin/releases.h"
#include "auth/sessions.h"
#include "auth/signing_keys.h"
#include "auth/url_signer.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "http/errors.h"
#include "http/request_context.h"
#include "http/routes.h"
#include "publish/gc.h"

namespace ota::http {
namespace {

using nlohmann::json;

struct ApiRoute {
  const char* method;
  std::regex path;
  auth::Scope scope;
  bool app_in_path;        // the first capture is an app name the token must be allowed on
  bool upload = false;     // body up to max_body_bytes (a blob), read by the handler as a stream
  bool sign_in = false;    // POST /api/v1/session: takes a token in its body instead of a header
};

const std::vector<ApiRoute>& api_routes() {
  static const std::vector<ApiRoute> routes = [] {
    const std::string app = "([A-Za-z0-9._+-]{1,64})";
    std::vector<ApiRoute> r;
    r.push_back({"GET", std::regex("/api/v1/apps"), auth::Scope::kRead, false});
    r.push_back({"POST", std::regex("/api/v1/apps"), auth::Scope::kAdmin, false});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app), auth::Scope::kRead, true});
    r.push_back({"PATCH", std::regex("/api/v1/apps/" + app), auth::Scope::kAdmin, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/keys"), auth::Scope::kRead, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + "/keys"), auth::Scope::kAdmin, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + "/updates"), auth::Scope::kPublish, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + "/rollbacks"), auth::Scope::kPublish, true});
    const std::string group = "/updates/([0-9a-f-]{36})";
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/updates"), auth::Scope::kRead, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + group), auth::Scope::kRead, true});
    r.push_back({"PATCH", std::regex("/api/v1/apps/" + app + group), auth::Scope::kPublish, true});
    r.push_back({"DELETE", std::regex("/api/v1/apps/" + app + group), auth::Scope::kAdmin, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + group + "/republish"), auth::Scope::kPublish, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/channels"), auth::Scope::kRead, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/patches"), auth::Scope::kRead, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + "/patches"), auth::Scope::kPublish, true});
    r.push_back({"POST", std::regex("/api/v1/apps/" + app + "/patches/([0-9a-f-]{36})/(revoke|unrevoke)"),
                 auth::Scope::kPublish, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/patch-key"), auth::Scope::kRead, true});
    r.push_back({"PUT", std::regex("/api/v1/apps/" + app + "/channels/([A-Za-z0-9._+-]{1,64})"), auth::Scope::kAdmin,
                 true});
    r.push_back({"POST", std::regex("/api/v1/blobs/missing"), auth::Scope::kPublish, false});
    r.push_back({"POST", std::regex("/api/v1/url-keys/rotate"), auth::Scope::kAdmin, false});
    r.push_back({"POST", std::regex("/api/v1/gc"), auth::Scope::kAdmin, false});
    r.push_back({"PUT", std::regex("/api/v1/blobs/([A-Za-z0-9_-]{43})"), auth::Scope::kPublish, false, true});
    r.push_back({"GET", std::regex("/api/v1/blobs/([A-Za-z0-9_-]{43})"), auth::Scope::kRead, false});
    // The admin page's session, tokens and audit log; adoption and the explainer.
    r.push_back({"POST", std::regex("/api/v1/session"), auth::Scope::kRead, false, false, true});
    r.push_back({"GET", std::regex("/api/v1/session"), auth::Scope::kRead, false});
    r.push_back({"DELETE", std::regex("/api/v1/session"), auth::Scope::kRead, false});
    r.push_back({"GET", std::regex("/api/v1/tokens"), auth::Scope::kAdmin, false});
    r.push_back({"POST", std::regex("/api/v1/tokens"), auth::Scope::kAdmin, false});
    r.push_back({"DELETE", std::regex("/api/v1/tokens/([A-Za-z0-9]{12})"), auth::Scope::kAdmin, false});
    r.push_back({"GET", std::regex("/api/v1/audit"), auth::Scope::kAdmin, false});
    r.push_back({"GET", std::regex("/api/v1/backup"), auth::Scope::kAdmin, false});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/adoption"), auth::Scope::kRead, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/explain"), auth::Scope::kRead, true});
    r.push_back({"GET", std::regex("/api/v1/apps/" + app + "/runtime-versions"), auth::Scope::kRead, true});
    return r;
  }();
  return routes;
}

auth::Actor actor(const httplib::Request& req) {
  const auto& token = current_request().token;
  return {token ? token->id : "anonymous", peer(req)};
}

void reject(const httplib::Request& req, httplib::Response& res, const Error& e) {
  send_error(res, e, current_request().id);
  close_after_response(req, res);
}

// Body checks before the body is read; true when they answered (rejected).
bool check_body_limit(const httplib::Request& req, httplib::Response& res, uint64_t limit);
bool require_length(const httplib::Request& req, httplib::Response& res);

json app_json(const model::App& a) {
  return {{"name", a.name},
          {"default_channel", a.default_channel},
          {"asset_tokens", a.asset_tokens},
          {"asset_token_ttl_s", a.asset_token_ttl_s},
          {"created_at_ms", a.created_at_ms}};
}

json key_json(const auth::SigningKeyInfo& k) {
  return {{"keyid", k.keyid},
          {"certificate_pem", k.certificate_pem},
          {"not_after_ms", k.not_after_ms},
          {"created_at_ms", k.created_at_ms},
          {"app_json", {{"codeSigningCertificate", "./certs/certificate.pem"},
                        {"codeSigningMetadata", {{"keyid", k.keyid}, {"alg", "rsa-v1_5-sha256"}}}}}};
}

// An app and its code-signing keys, read in one snapshot.
Result<std::pair<model::App, std::vector<auth::SigningKeyInfo>>> app_with_keys(const Services& services,
                                                                                 const std::string& name) {
  OTA_ASSIGN_OR_RETURN(auto tx, services.storage->db().begin_read());
  OTA_ASSIGN_OR_RETURN(auto app, admin::get_app(tx, name));
  OTA_ASSIGN_OR_RETURN(auto keys, auth::list_signing_keys(tx, app.id));
  return std::make_pair(std::move(app), std::move(keys));
}

json gc_json(const publish::GcReport& r, bool dry_run) {
  return {{"dry_run", dry_run},
          {"groups_pruned", r.groups_pruned},
          {"updates_pruned", r.updates_pruned},
          {"asset_rows_removed", r.asset_rows_removed},
          {"blobs_removed", r.blobs_removed},
          {"blobs_kept_in_grace", r.blobs_kept_in_grace},
          {"bytes_removed", r.bytes_removed},
          {"blob_bytes_before", r.blob_bytes_before},
          {"blob_bytes_after", r.blob_bytes_after},
          {"sweep_skipped_after_start", r.sweep_skipped}};
}

json commit_json(const publish::CommitResult& c) {
  json updates = json::array();
  for (const auto& u : c.updates) {
    updates.push_back({{"id", u.id}, {"platform", model::platform_name(u.platform)}, {"runtime_version", u.runtime_version}});
  }
  return {{"group_id", c.group_id}, {"created_at", format_iso8601_ms(c.created_at_ms)}, {"created", c.created},
          {"updates", updates}};
}

// After a change: swap in the new catalog, then answer. The client hears "done" only once devices
// can see the change.
void reload_and_send(const Services* services, httplib::Response& res, int status, const json& body) {
  if (Status st = services->expo->reload(); !st) return send_error(res, st.error(), current_request().id);
  send_json(res, status, body.dump());
}

// Counts a committed release event for GET /metrics.
void count(const Services* services, std::atomic<uint64_t> telemetry::EventCounters::*counter) {
  if (services->events != nullptr) (services->events->*counter).fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::optional<json> json_body(const httplib::Request& req, httplib::Response& res) {
  json j = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    send_error(res, 400, "invalid_argument", "the request body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

// Computed once per request by the pre-routing hook (behind a trusted proxy: the forwarded client).
std::string peer(const httplib::Request& req) {
  const std::string& client = current_request().client_addr;
  return client.empty() ? req.remote_addr + ":" + std::to_string(req.remote_port) : client;
}

void send_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body, "application/json");
}

void send_result_error(httplib::Response& res, const Error& error) { send_error(res, error, current_request().id); }

bool guard_api_request(const httplib::Request& req, httplib::Response& res, const Services& services,
                       const ServerOptions& options) {
  const ApiRoute* route = nullptr;
  std::smatch m;
  for (const auto& r : api_routes()) {
    if (req.method == r.method && std::regex_match(req.path, m, r.path)) {
      route = &r;
      break;
    }
  }
  if (route == nullptr) {
    reject(req, res, not_found("no such API endpoint: " + req.method + " " + req.path.substr(0, 200)));
    return true;
  }
  if (route->sign_in) return check_body_limit(req, res, 4096);
  int64_t now = services.clock->now_ms();
  Result<auth::TokenInfo> token = Error(ErrorCode::kUnauthorized, "");
  auto cookie = cookie_value(req.get_header_value("Cookie"), kSessionCookie);
  if (!req.has_header("Authorization") && cookie) {
    // The admin page: a session cookie, and for every change the session's CSRF token.
    auto session = auth::verify_session(services.storage->db(), *cookie, now);
    if (!session) {
      reject(req, res, session.error());
      return true;
    }
    if (req.method != "GET" && req.method != "HEAD" &&
        !auth::csrf_matches(*session, req.get_header_value("X-CSRF-Token"))) {
      reject(req, res, Error(ErrorCode::kForbidden, "missing or wrong X-CSRF-Token header; reload the admin page"));
      return true;
    }
    token = session->token;
    current_request().session = std::move(*session);
  } else {
    token = auth::verify_token(services.storage->db(), req.get_header_value("Authorization"), now);
  }
  if (!token) {
    res.set_header("WWW-Authenticate", "Bearer");
    reject(req, res, token.error());
    return true;
  }
  std::optional<int64_t> app_id;
  if (route->app_in_path) {
    auto tx = services.storage->db().begin_read();
    if (!tx) {
      reject(req, res, tx.error());
      return true;
    }
    auto app = admin::get_app(*tx, m[1].str());
    // An app-bound token learns nothing about other apps: a missing app reads as forbidden.
    if (app) app_id = app->id;
  }
  if (Status allowed = auth::authorize(*token, route->scope, app_id); !allowed) {
    reject(req, res, allowed.error());
    return true;
  }
  current_request().token = std::move(*token);

  return check_body_limit(req, res, route->upload ? options.max_body_bytes : options.max_json_body_bytes) ||
         (route->upload && require_length(req, res));
}

namespace {

bool check_body_limit(const httplib::Request& req, httplib::Response& res, uint64_t limit) {
  if (req.has_header("Transfer-Encoding")) {
    reject(req, res, Error(ErrorCode::kInvalidArgument, "send a Content-Length; chunked request bodies are refused"));
    res.status = 411;
    return true;
  }
  uint64_t length = parse_uint(req.get_header_value("Content-Length")).value_or(0);
  if (length > limit) {
    reject(req, res, Error(ErrorCode::kTooLarge, "request body of " + format_bytes(length) + " is over the limit of " +
                                                     format_bytes(limit)));
    return true;
  }
  return false;
}

bool require_length(const httplib::Request& req, httplib::Response& res) {
  if (req.get_header_value("Content-Length").empty()) {
    reject(req, res, invalid_argument("blob uploads need a Content-Length"));
    res.status = 411;
    return true;
  }
  return false;
}

}  // namespace

void install_api_routes(httplib::Server& svr, const Services& s, const ServerOptions& options) {
  const Services* services = &s;
  const std::string app = "([A-Za-z0-9._+-]{1,64})";
  // Uploads hold their body in memory; this bounds how many do at once. Owned by the route.
  auto uploads_in_flight = std::make_shared<std::atomic<int>>(0);

  svr.Get("/api/v1/apps", [services](const httplib::Request&, httplib::Response& res) {
    auto apps = admin::list_apps(services->storage->db());
    if (!apps) return send_result_error(res, apps.error());
    json out = json::array();
    const auto& token = current_request().token;
    for (const auto& a : *apps) {
      if (token && token->app_id && *token->app_id != a.id) continue;
      out.push_back(app_json(a));
    }
    send_json(res, 200, json{{"apps", out}}.dump());
  });

  svr.Post("/api/v1/apps", [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    admin::AppSpec spec;
    if (!body->contains("name") || !(*body)["name"].is_string()) {
      return send_error(res, 400, "invalid_argument", "\"name\" is required");
    }
    spec.name = (*body)["name"];
    if (body->contains("default_channel") && (*body)["default_channel"].is_string()) {
      spec.default_channel = (*body)["default_channel"];
    }
    auto created = admin::create_app(services->storage->db(), spec, actor(req), services->clock->now_ms());
    if (!created) return send_result_error(res, created.error());
    reload_and_send(services, res, 201, app_json(*created));
  });

  svr.Get("/api/v1/apps/" + app, [services](const httplib::Request& req, httplib::Response& res) {
    auto loaded = app_with_keys(*services, req.matches[1].str());
    if (!loaded) return send_result_error(res, loaded.error());
    const auto& [a, keys] = *loaded;
    json j = app_json(a);
    j["keys"] = json::array();
    for (const auto& k : keys) j["keys"].push_back({{"keyid", k.keyid}, {"not_after_ms", k.not_after_ms}});
    send_json(res, 200, j.dump());
  });

  svr.Patch("/api/v1/apps/" + app, [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    admin::AppSettings settings;
    if (body->contains("default_channel")) {
      if (!(*body)["default_channel"].is_string()) return send_error(res, 400, "invalid_argument", "\"default_channel\" must be a string");
      settings.default_channel = (*body)["default_channel"];
    }
    if (body->contains("asset_tokens")) {
      if (!(*body)["asset_tokens"].is_boolean()) return send_error(res, 400, "invalid_argument", "\"asset_tokens\" must be true or false");
      settings.asset_tokens = (*body)["asset_tokens"];
    }
    if (body->contains("asset_token_ttl_s")) {
      if (!(*body)["asset_token_ttl_s"].is_number_integer()) {
        return send_error(res, 400, "invalid_argument", "\"asset_token_ttl_s\" must be a whole number of seconds");
      }
      settings.asset_token_ttl_s = (*body)["asset_token_ttl_s"];
    }
    if (body->contains("patch_path_template")) {
      const auto& t = (*body)["patch_path_template"];
      if (!t.is_string() && !t.is_null()) return send_error(res, 400, "invalid_argument", "\"patch_path_template\" must be a string or null");
      settings.patch_path_template = t.is_string() ? t.get<std::string>() : std::string();
    }
    if (body->contains("patch_signature_line")) {
      if (!(*body)["patch_signature_line"].is_boolean()) return send_error(res, 400, "invalid_argument", "\"patch_signature_line\" must be true or false");
      settings.patch_signature_line = (*body)["patch_signature_line"].get<bool>();
    }
    if (body->contains("patch_revoked_answer")) {
      if (!(*body)["patch_revoked_answer"].is_string()) return send_error(res, 400, "invalid_argument", "\"patch_revoked_answer\" is \"404\" or \"empty\"");
      settings.patch_revoked_answer = (*body)["patch_revoked_answer"].get<std::string>();
    }
    auto updated = admin::update_app_settings(services->storage->db(), req.matches[1].str(), settings, actor(req),
                                              services->clock->now_ms());
    if (!updated) return send_result_error(res, updated.error());
    if (Status st = services->patches->reload(); !st) return send_result_error(res, st.error());
    reload_and_send(services, res, 200, app_json(*updated));
  });

  svr.Get("/api/v1/apps/" + app + "/keys", [services](const httplib::Request& req, httplib::Response& res) {
    auto loaded = app_with_keys(*services, req.matches[1].str());
    if (!loaded) return send_result_error(res, loaded.error());
    json out = json::array();
    for (const auto& k : loaded->second) out.push_back(key_json(k));
    send_json(res, 200, json{{"keys", out}}.dump());
  });

  svr.Post("/api/v1/apps/" + app + "/keys", [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    std::string keyid = body->value("keyid", std::string("main"));
    int validity_days = body->value("validity_days", 3650);
    auto created = admin::create_signing_key(services->storage->db(), req.matches[1].str(), keyid, validity_days,
                                             services->server_secret, actor(req), services->clock->now_ms());
    if (!created) return send_result_error(res, created.error());
    reload_and_send(services, res, 201, key_json(*created));
  });

  svr.Post("/api/v1/gc", [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    if (current_request().token && current_request().token->app_id) {
      return send_error(res, 403, "forbidden", "garbage collection spans every app; use a token not bound to an app");
    }
    publish::GcOptions gc;
    gc.dry_run = body->value("dry_run", false);
    gc.grace_ms = services->gc_grace_ms;
    gc.started_at_ms = services->started_at_ms;
    auto report = publish::collect_garbage(*services->storage, gc, actor(req), services->clock->now_ms());
    if (!report) return send_result_error(res, report.error());
    if (gc.dry_run) return send_json(res, 200, gc_json(*report, true).dump());
    services->expo->forget_assets(report->removed);
    reload_and_send(services, res, 200, gc_json(*report, false));
  });

  svr.Post("/api/v1/url-keys/rotate", [services](const httplib::Request& req, httplib::Response& res) {
    if (current_request().token && current_request().token->app_id) {
      return send_error(res, 403, "forbidden", "rotating the asset-token key affects every app; use a token not bound to an app");
    }
    int64_t now = services->clock->now_ms();
    auto tx = services->storage->db().begin_write();
    if (!tx) return send_result_error(res, tx.error());
    // Old keys keep verifying for the longest token lifetime plus its rounding bucket.
    auto kid = auth::rotate_url_key(*tx, services->server_secret, now, (auth::kMaxAssetTokenTtlS + 3600) * 1000);
    if (!kid) return send_result_error(res, kid.error());
    if (Status st = auth::audit(*tx, actor(req), {"url_key.rotate", std::nullopt, *kid, "{}"}, now); !st) {
      return send_result_error(res, st.error());
    }
    if (Status st = tx->commit(); !st) return send_result_error(res, st.error());
    reload_and_send(services, res, 200, json{{"kid", *kid}});
  });

  svr.Post("/api/v1/blobs/missing", [services](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    if (!body->contains("sha256") || !(*body)["sha256"].is_array() || (*body)["sha256"].size() > 100000) {
      return send_error(res, 400, "invalid_argument", "\"sha256\" must be an array of base64url SHA-256 digests");
    }
    json missing = json::array();
    for (const auto& v : (*body)["sha256"]) {
      auto d = v.is_string() ? crypto::Sha256::from_base64url(v.get<std::string>()) : std::nullopt;
      if (!d) return send_error(res, 400, "invalid_argument", "every entry of \"sha256\" must be 43 characters of base64url");
      auto has = services->storage->blobs().has(*d);
      if (!has) return send_result_error(res, has.error());
      if (!*has) missing.push_back(v);
    }
    send_json(res, 200, json{{"missing", missing}}.dump());
  });

  svr.Put("/api/v1/blobs/([A-Za-z0-9_-]{43})",
          [services, &options, uploads_in_flight](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& content_reader) {
            auto expected = crypto::Sha256::from_base64url(req.matches[1].str());
            if (!expected) return send_error(res, 400, "invalid_argument", "the URL must end in the blob's SHA-256");
            if (uploads_in_flight->fetch_add(1) >= options.max_concurrent_uploads) {
              uploads_in_flight->fetch_sub(1);
              res.set_header("Retry-After", "1");
              send_error(res, 503, "unavailable", "too many uploads in progress; retry shortly");
              return close_after_response(req, res);
            }
            struct Release {
              std::atomic<int>& n;
              ~Release() { n.fetch_sub(1); }
            } release{*uploads_in_flight};
            std::string body;
            uint64_t declared = parse_uint(req.get_header_value("Content-Length")).value_or(0);
            body.reserve(declared);
            bool too_large = false;
            // Counted here as well: the library's own cap does not cover every framing (W1).
            content_reader([&](const char* data, size_t n) {
              if (body.size() + n > options.max_body_bytes || body.size() + n > declared) {
                too_large = true;
                return false;
              }
              body.append(data, n);
              return true;
            });
            if (too_large || body.size() != declared) {
              send_error(res, 400, "invalid_argument", "the body does not match its Content-Length");
              return close_after_response(req, res);
            }
            auto stored = services->storage->blobs().put_verified(body, *expected);
            if (!stored) return send_result_error(res, stored.error());
            services->storage->note_upload(*stored, services->clock->now_ms());
            send_json(res, 201, json{{"sha256", stored->base64url()}, {"size", body.size()}}.dump());
          });

  svr.Post("/api/v1/apps/" + app + "/updates", [services](const httplib::Request& req, httplib::Response& res) {
    auto request = publish::parse_commit_request(req.matches[1].str(), req.body);
    if (!request) return send_result_error(res, request.error());
    auto committed = services->publisher->commit(*request, actor(req));
    if (!committed) return send_result_error(res, committed.error());
    if (committed->created) count(services, &telemetry::EventCounters::publishes);
    // The new responses are rendered and swapped in before the publisher hears "done".
    reload_and_send(services, res, committed->created ? 201 : 200, commit_json(*committed));
  });

  svr.Get("/api/v1/apps/" + app + "/updates", [services](const httplib::Request& req, httplib::Response& res) {
    admin::UpdateFilter filter;
    if (req.has_param("branch")) filter.branch = req.get_param_value("branch");
    if (req.has_param("runtime_version")) filter.runtime_version = req.get_param_value("runtime_version");
    if (req.has_param("platform")) {
      filter.platform = model::parse_platform(req.get_param_value("platform"));
      if (!filter.platform) return send_error(res, 400, "invalid_argument", "platform must be ios or android");
    }
    if (req.has_param("limit")) filter.limit = static_cast<int>(parse_uint(req.get_param_value("limit")).value_or(100));
    auto rows = admin::list_updates(services->storage->db(), req.matches[1].str(), filter);
    if (!rows) return send_result_error(res, rows.error());
    json out = json::array();
    for (const auto& r : *rows) {
      json u = {{"id", r.id}, {"group_id", r.group_id}, {"branch", r.branch},
                {"platform", model::platform_name(r.platform)}, {"runtime_version", r.runtime_version},
                {"kind", r.kind}, {"created_at", format_iso8601_ms(r.created_at_ms)}, {"rollout_percent", r.rollout_percent},
                {"state", r.state}, {"message", r.message}, {"bytes", r.total_bytes}, {"assets", r.asset_count}};
      if (r.git_commit) u["git_commit"] = *r.git_commit;
      if (r.git_branch) u["git_branch"] = *r.git_branch;
      out.push_back(std::move(u));
    }
    send_json(res, 200, json{{"updates", out}}.dump());
  });

  svr.Get("/api/v1/apps/" + app + "/updates/([0-9a-f-]{36})", [services](const httplib::Request& req,
                                                                         httplib::Response& res) {
    auto group = admin::group_as_commit_json(services->storage->db(), req.matches[1].str(), req.matches[2].str());
    if (!group) return send_result_error(res, group.error());
    send_json(res, 200, *group);
  });

  // The raw bytes of a blob, for promotion between servers (devices use the asset URLs).
  svr.Get("/api/v1/blobs/([A-Za-z0-9_-]{43})", [services](const httplib::Request& req, httplib::Response& res) {
    if (current_request().token && current_request().token->app_id) {
      return send_error(res, 403, "forbidden", "blob downloads span every app; use a token not bound to an app");
    }
    auto digest = crypto::Sha256::from_base64url(req.matches[1].str());
    if (!digest) return send_error(res, 400, "invalid_argument", "the URL must end in a blob's SHA-256");
    auto blob = services->storage->blobs().get(*digest);
    if (!blob) return send_result_error(res, blob.error());
    if (!*blob) return send_error(res, 404, "not_found", "no blob " + req.matches[1].str());
    auto bytes = std::make_shared<const std::string>((*blob)->bytes());
    res.set_header("Cache-Control", "no-store");
    res.set_content_provider(bytes->size(), "application/octet-stream",
                             [bytes](size_t off, size_t len, httplib::DataSink& sink) {
                               return sink.write(bytes->data() + off, std::min<size_t>(len, 256 * 1024));
                             });
  });

  svr.Patch("/api/v1/apps/" + app + "/updates/([0-9a-f-]{36})", [services](const httplib::Request& req,
                                                                           httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    int64_t now = services->clock->now_ms();
    bool changed = false;
    if (body->contains("rollout_percent")) {
      const auto& p = (*body)["rollout_percent"];
      if (!p.is_number_integer()) return send_error(res, 400, "invalid_argument", "\"rollout_percent\" must be 0 to 100");
      Status st = admin::set_rollout(services->storage->db(), req.matches[1].str(), req.matches[2].str(), p.get<int>(),
                                     actor(req), now);
      if (!st) return send_result_error(res, st.error());
      count(services, &telemetry::EventCounters::rollout_changes);
      changed = true;
    }
    if (body->contains("active")) {
      if (!(*body)["active"].is_boolean()) return send_error(res, 400, "invalid_argument", "\"active\" must be true or false");
      Status st = admin::set_active(services->storage->db(), req.matches[1].str(), req.matches[2].str(),
                                    (*body)["active"].get<bool>(), actor(req), now);
      if (!st) return send_result_error(res, st.error());
      if (!(*body)["active"].get<bool>()) count(services, &telemetry::EventCounters::deactivations);
      changed = true;
    }
    if (!changed) return send_error(res, 400, "invalid_argument", "give \"rollout_percent\" and/or \"active\"");
    reload_and_send(services, res, 200, json{{"group_id", req.matches[2].str()}, {"updated", true}});
  });

  svr.Delete("/api/v1/apps/" + app + "/updates/([0-9a-f-]{36})", [services](const httplib::Request& req,
                                                                            httplib::Response& res) {
    Status st = admin::delete_group(services->storage->db(), req.matches[1].str(), req.matches[2].str(), actor(req),
                                    services->clock->now_ms());
    if (!st) return send_result_error(res, st.error());
    reload_and_send(services, res, 200, json{{"group_id", req.matches[2].str()}, {"deleted", true}});
  });

  svr.Post("/api/v1/apps/" + app + "/updates/([0-9a-f-]{36})/republish", [services](const httplib::Request& req,
                                                                                     httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    std::optional<std::string> branch, channel;
    if (body->contains("branch") && (*body)["branch"].is_string()) branch = (*body)["branch"];
    if (body->contains("channel") && (*body)["channel"].is_string()) channel = (*body)["channel"];
    auto committed = services->publisher->republish(req.matches[1].str(), req.matches[2].str(), branch, channel, actor(req));
    if (!committed) return send_result_error(res, committed.error());
    count(services, &telemetry::EventCounters::rollbacks);
    reload_and_send(services, res, 201, commit_json(*committed));
  });

  svr.Get("/api/v1/apps/" + app + "/channels", [services](const httplib::Request& req, httplib::Response& res) {
    auto rows = admin::list_channels(services->storage->db(), req.matches[1].str());
    if (!rows) return send_result_error(res, rows.error());
    json out = json::array();
    for (const auto& c : *rows) {
      json j = {{"name", c.name}, {"branch", c.branch}};
      if (c.split_branch) j["split"] = {{"branch", *c.split_branch}, {"percent", c.split_percent}};
      out.push_back(std::move(j));
    }
    send_json(res, 200, json{{"channels", out}}.dump());
  });

  svr.Put("/api/v1/apps/" + app + "/channels/([A-Za-z0-9._+-]{1,64})", [services](const httplib::Request& req,
                                                                                  httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body) return;
    if (!body->contains("branch") || !(*body)["branch"].is_string()) {
      return send_error(res, 400, "invalid_argument", "\"branch\" is required: the branch the channel serves");
    }
    std::optional<std::string> split;
    int percent = 0;
    if (body->contains("split") && (*body)["split"].is_object()) {
      const auto& sj = (*body)["split"];
      if (!sj.contains("branch") || !sj["branch"].is_string() || !sj.contains("percent") ||
          !sj["percent"].is_number_integer()) {
        return send_error(res, 400, "invalid_argument", "\"split\" is {\"branch\": \"...\", \"percent\": 0-100}");
      }
      split = sj["branch"];
      percent = sj["percent"];
    }
    auto row = admin::set_channel(services->storage->db(), req.matches[1].str(), req.matches[2].str(),
                                  (*body)["branch"].get<std::string>(), split, percent, actor(req),
                                  services->clock->now_ms());
    if (!row) return send_result_error(res, row.error());
    json j = {{"name", row->name}, {"branch", row->branch}};
    if (row->split_branch) j["split"] = {{"branch", *row->split_branch}, {"percent", row->split_percent}};
    reload_and_send(services, res, 200, j);
  });

  svr.Get("/api/v1/apps/" + app + "/patches", [services](const httplib::Request& req, httplib::Response& res) {
    // Counters are batched in memory; write them first so the listing is current.
    (void)services->patches->flush_counters();
    auto body = admin::list_patches_json(services->storage->db(), req.matches[1].str());
    if (!body) return send_result_error(res, body.error());
    send_json(res, 200, *body);
  });

  svr.Post("/api/v1/apps/" + app + "/patches", [services](const httplib::Request& req, httplib::Response& res) {
    auto request = publish::parse_patch_request(req.matches[1].str(), req.body);
    if (!request) return send_result_error(res, request.error());
    auto published = services->patch_publisher->publish(*request, actor(req));
    if (!published) return send_result_error(res, published.error());
    count(services, &telemetry::EventCounters::patch_publishes);
    if (Status st = services->patches->reload(); !st) return send_result_error(res, st.error());
    send_json(res, 201, json{{"id", published->id}, {"seq", published->seq},
                             {"created_at", format_iso8601_ms(published->created_at_ms)},
                             {"signature", published->signature}, {"md5", published->md5},
                             {"size", published->size}}.dump());
  });

  svr.Post("/api/v1/apps/" + app + "/patches/([0-9a-f-]{36})/(revoke|unrevoke)",
           [services](const httplib::Request& req, httplib::Response& res) {
             bool revoke = req.matches[3].str() == "revoke";
             Status st = services->patch_publisher->set_revoked(req.matches[1].str(), req.matches[2].str(), revoke,
                                                                actor(req));
             if (!st) return send_result_error(res, st.error());
             if (revoke) count(services, &telemetry::EventCounters::patch_revocations);
             // Takes effect before the answer: the next device request already sees it.
             if (Status r = services->patches->reload(); !r) return send_result_error(res, r.error());
             send_json(res, 200, json{{"id", req.matches[2].str()}, {"revoked", revoke}}.dump());
           });

  svr.Get("/api/v1/apps/" + app + "/patch-key", [services](const httplib::Request& req, httplib::Response& res) {
    auto pem = services->patch_publisher->public_key(req.matches[1].str());
    if (!pem) return send_result_error(res, pem.error());
    send_json(res, 200, json{{"public_key_pem", *pem}, {"alg", "rsa-v1_5-sha256"}}.dump());
  });

  svr.Post("/api/v1/apps/" + app + "/rollbacks", [services](const httplib::Request& req, httplib::Response& res) {
    auto request = publish::parse_rollback_request(req.matches[1].str(), req.body);
    if (!request) return send_result_error(res, request.error());
    auto committed = services->publisher->roll_back_to_embedded(*request, actor(req));
    if (!committed) return send_result_error(res, committed.error());
    if (committed->created) count(services, &telemetry::EventCounters::rollbacks);
    reload_and_send(services, res, 201, commit_json(*committed));
  });
}

}  // namespace ota::http
