// Native hot-patch endpoints (issue 5). Device-facing routes answer from the patch service's
// in-memory snapshot; nothing is read from disk or signed per request.
#include <regex>

#include <nlohmann/json.hpp>

#include "http/errors.h"
#include "http/negotiation.h"
#include "http/request_context.h"
#include "http/routes.h"

namespace ota::http {
namespace {

using nlohmann::json;

std::optional<std::string> device_id(const httplib::Request& req) {
  std::string id = req.get_header_value("X-Device-Id");
  if (id.empty() && req.has_param("device_id")) id = req.get_param_value("device_id");
  if (id.empty() || id.size() > 128) return std::nullopt;
  return id;
}

void send_patch_body(const httplib::Request& req, httplib::Response& res, const patch::ServablePatch& p) {
  const auto& body = p.body;
  RangeRequest range = parse_range(req.get_header_value("Range"), body->size());
  if (range.kind == RangeKind::kUnsatisfiable) {
    res.status = 416;
    res.set_header("Content-Range", "bytes */" + std::to_string(body->size()));
    return;
  }
  size_t offset = 0, length = body->size();
  if (range.kind == RangeKind::kSingle) {
    offset = range.range.first;
    length = range.range.last - range.range.first + 1;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(range.range.first) + "-" +
                                        std::to_string(range.range.last) + "/" + std::to_string(body->size()));
  }
  res.set_content_provider(length, "application/octet-stream",
                           [body, offset](size_t off, size_t len, httplib::DataSink& sink) {
                             return sink.write(body->data() + offset + off, std::min<size_t>(len, 256 * 1024));
                           });
}

void set_patch_headers(httplib::Response& res, const patch::ServablePatch& p) {
  res.set_header("ETag", p.etag);
  res.set_header("Last-Modified", p.last_modified);
  // Revalidate every time: revocation and new patches must take effect at once.
  res.set_header("Cache-Control", "no-cache");
  res.set_header("Vary", "X-Device-Id");
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Patch-Id", p.id);
  res.set_header("X-Patch-Seq", std::to_string(p.seq));
  res.set_header("X-Patch-SHA256", p.body_sha256.base64url());
  res.set_header("X-Patch-MD5", p.body_md5);
  res.set_header("X-Patch-Signature", p.signature);
  res.set_header("X-Patch-Signature-Alg", "rsa-v1_5-sha256");
  res.set_header("X-Patch-Policy", std::to_string(p.policy));
}

void serve_patch(const httplib::Request& req, httplib::Response& res, const Services& services,
                 const std::string& app, const patch::PatchQuery& query) {
  auto answer = services.patches->answer(app, query);
  if (!answer) return send_error(res, answer.error(), current_request().id);
  if (answer->outcome == patch::Outcome::kNone ||
      (answer->outcome == patch::Outcome::kRevoked && !answer->empty_body)) {
    // What a bare client expects when there is nothing to apply: 404, no body.
    res.status = 404;
    res.set_header("Cache-Control", "no-cache");
    current_request().bare_error = true;
    return;
  }
  if (answer->outcome == patch::Outcome::kRevoked) {
    // Configured "empty" answer: a newer, empty patch replaces the revoked one on devices.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Patch-Revoked", answer->patch->id);
    res.set_content("", "application/octet-stream");
    return;
  }
  const patch::ServablePatch& p = *answer->patch;
  set_patch_headers(res, p);
  bool not_modified = false;
  if (req.has_header("If-None-Match")) {
    not_modified = if_none_match_matches(req.get_header_value("If-None-Match"), p.etag);
  } else if (req.has_header("If-Modified-Since")) {
    auto since = parse_http_date(req.get_header_value("If-Modified-Since"));
    not_modified = since && p.created_at_ms / 1000 <= *since / 1000;
  }
  services.patches->record(p.id, query.version_text, !not_modified && req.method != "HEAD", query.device_id);
  if (not_modified) {
    res.status = 304;
    return;
  }
  send_patch_body(req, res, p);
}

}  // namespace

void install_patch_routes(httplib::Server& svr, const Services& s) {
  const Services* services = &s;
  svr.Get("/patches/download/([A-Za-z0-9_.-]{1,200})", [services](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "HEAD") {
      // A HEAD would use up the single-use link without delivering the patch.
      res.set_header("Allow", "GET");
      return send_error(res, 405, "method_not_allowed", "download links work once, with GET");
    }
    auto download = services->patches->download(req.matches[1].str());
    if (!download) return send_error(res, download.error(), current_request().id);
    set_patch_headers(res, *download->patch);
    res.headers.erase("Cache-Control");  // set_header appends; a link's answer is never stored
    res.set_header("Cache-Control", "no-store");
    auto hold = download->hold;
    send_patch_body(req, res, *download->patch);
  });

  svr.Get("/patches/([A-Za-z0-9._+-]{1,64})/(ios|android)/([0-9.]{1,40})/([A-Za-z0-9._-]{1,64})",
          [services](const httplib::Request& req, httplib::Response& res) {
            patch::PatchQuery q;
            q.platform = req.matches[2].str() == "ios" ? model::Platform::kIos : model::Platform::kAndroid;
            q.version_text = req.matches[3].str();
            q.build = req.matches[4].str();
            q.device_id = device_id(req);
            serve_patch(req, res, *services, req.matches[1].str(), q);
          });

  svr.Post("/api/v1/patches/check", [services](const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      return send_error(res, 400, "invalid_argument", "the body must be a JSON object");
    }
    auto str = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
    auto platform = model::parse_platform(str("platform"));
    if (str("app").empty() || !platform || str("version").empty()) {
      return send_error(res, 400, "invalid_argument",
                        "send {\"app\", \"platform\": \"ios\"|\"android\", \"version\", \"build\", \"device_id\", "
                        "\"hash\" of the patch the client has (or \"\")}");
    }
    patch::PatchQuery q;
    q.platform = *platform;
    q.version_text = str("version");
    q.build = str("build");
    if (!str("device_id").empty() && str("device_id").size() <= 128) q.device_id = str("device_id");
    auto answer = services->patches->check(str("app"), q, str("hash"));
    if (!answer) return send_error(res, answer.error(), current_request().id);
    send_json(res, 200, *answer);
  });
}

void install_patch_template_route(httplib::Server& svr, const Services& s) {
  const Services* services = &s;
  svr.Get("(/.*)", [services](const httplib::Request& req, httplib::Response& res) {
    auto match = services->patches->match_template(req.path, device_id(req));
    if (!match) {
      return send_error(res, 404, "not_found", "no such endpoint: " + req.method + " " + req.path.substr(0, 200));
    }
    serve_patch(req, res, *services, match->first, match->second);
  });
}

}  // namespace ota::http
