// The one mapping from internal error codes to HTTP statuses and JSON error bodies
// {"error": "<code>", "message": "<what to do>"}. Internal errors never leak details to clients.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace httplib {
struct Response;
}

namespace ota::http {

int status_for(ErrorCode code);

// JSON body for an error the client may see in full.
std::string error_body(std::string_view code, std::string_view message);

// Fills `res` with the status and body for `error`. kInternal and kCorruption answers say only
// "internal error" plus a request id; the detail goes to the log under the same id.
void send_error(httplib::Response& res, const Error& error, uint64_t request_id);

// As send_error, with an explicit status and code (for protocol-level answers such as 405/431).
void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message);

}  // namespace ota::http
