// Route installation, one file per area. Internal to http/.
#pragma once

#include <httplib.h>

#include "http/server.h"

namespace ota::http {

// GET /apps/{app}/manifest and GET|HEAD /apps/{app}/assets/{sha256}.
void install_expo_routes(httplib::Server& svr, const Services& services);

// GET /patches/{app}/{platform}/{version}/{build}, GET /patches/download/{token},
// POST /api/v1/patches/check, and the admin routes for patches.
void install_patch_routes(httplib::Server& svr, const Services& services);
// A catch-all GET route for per-app patch path templates; registered last.
void install_patch_template_route(httplib::Server& svr, const Services& services);

// /api/v1/...: the admin and publishing API.
void install_api_routes(httplib::Server& svr, const Services& services, const ServerOptions& options);

// The part of the pre-routing guard that belongs to /api/v1: authentication and authorization
// before any body is read, and per-route body limits. Returns true if it answered (rejected).
bool guard_api_request(const httplib::Request& req, httplib::Response& res, const Services& services,
                       const ServerOptions& options);

// Shared response helpers.
void send_json(httplib::Response& res, int status, const std::string& json);
void send_result_error(httplib::Response& res, const Error& error);

}  // namespace ota::http
