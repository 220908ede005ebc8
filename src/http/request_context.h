// Per-request state that cpp-httplib gives us no place for. A request runs start to finish on one
// worker thread (pre-routing hook, handler, logger), so a thread-local slot is exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "auth/sessions.h"
#include "auth/tokens.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace ota::http {

struct RequestContext {
  uint64_t id = 0;
  int64_t start_ns = 0;
  bool counted = false;                 // entered the in-flight count
  // Who the request is from (http/forwarded.h): what the access log, the audit log and sessions
  // record. Set once by the pre-routing hook; empty for requests the library refused before it.
  std::string client_addr;              // empty: the TCP peer (no trusted proxies configured)
  bool client_forwarded = false;        // client_addr came from a trusted proxy's X-Forwarded-For
  std::optional<auth::TokenInfo> token; // the authenticated admin token, for /api/v1 routes
  std::optional<auth::Session> session; // set when the token came from the admin page's cookie
  bool bare_error = false;              // send this 4xx without a JSON body (patch 404s)
};

RequestContext& begin_request(uint64_t id, int64_t start_ns);
RequestContext& current_request();
void end_request();

// Sends `res` and then closes the connection, so unread request bytes can never be taken for the
// next request.
void close_after_response(const httplib::Request& req, httplib::Response& res);
// For the connection loop, after each request: whether the handler asked for the connection to
// close. Resets the flag.
bool take_close_connection();

}  // namespace ota::http
