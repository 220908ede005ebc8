// Route installation, one file per area. Internal to http/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "http/server.h"

namespace ota::http {

// GET /apps/{app}/manifest and GET|HEAD /apps/{app}/assets/{sha256}.
void install_expo_routes(httplib::Server& svr, const Services& services);

// GET /patches/{app}/{platform}/{version}/{build}, GET /patches/download/{token},
// POST /api/v1/patches/check, and the admin routes for patches.
void install_patch_routes(httplib::Server& svr, const Services& services);
// A catch-all GET route for per-app patch path templates; registered last.
void install_patch_template_route(httplib::Server& svr, const Services& services);

// /admin/ (the embedded page), /api/v1/session, /api/v1/tokens, /api/v1/audit.
void install_admin_routes(httplib::Server& svr, const Services& services, const ServerOptions& options);

// /api/v1/apps/{app}/adoption, /api/v1/apps/{app}/explain and GET /metrics.
void install_insight_routes(httplib::Server& svr, const Services& services, const ServerOptions& options);

// The admin page's session cookie, and a cookie's value from a Cookie header.
inline constexpr char kSessionCookie[] = "ota_session";
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// GET /api/v1/backup: a consistent backup streamed as a tar archive.
void install_backup_routes(httplib::Server& svr, const Services& services);

// /api/v1/...: the admin and publishing API.
void install_api_routes(httplib::Server& svr, const Services& services, const ServerOptions& options);

// The part of the pre-routing guard that belongs to /api/v1: authentication and authorization
// before any body is read, and per-route body limits. Returns true if it answered (rejected).
bool guard_api_request(const httplib::Request& req, httplib::Response& res, const Services& services,
                       const ServerOptions& options);

// Shared request helpers: a JSON object body (answers 400 and returns nullopt otherwise), and
// the client's address for the audit log (the forwarded client behind a trusted proxy).
std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res);
std::string peer(const httplib::Request& req);

// Shared response helpers.
void send_json(httplib::Response& res, int status, const std::string& json);
void send_result_error(httplib::Response& res, const Error& error);

}  // namespace ota::http
