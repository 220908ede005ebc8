#include "http/errors.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace ota::http {

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kUnauthorized: return 401;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kTooLarge: return 413;
    case ErrorCode::kUnsupported: return 415;
    case ErrorCode::kNotAcceptable: return 406;
    case ErrorCode::kGone: return 410;
    case ErrorCode::kNoSpace: return 507;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kCorruption:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string error_body(std::string_view code, std::string_view message) {
  nlohmann::json j = {{"error", code}, {"message", message}};
  // Replace invalid UTF-8 rather than throwing: messages may quote client input.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_error(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  res.status = status;
  res.set_content(error_body(code, message), "application/json");
}

void send_error(httplib::Response& res, const Error& error, uint64_t request_id) {
  if (error.code() == ErrorCode::kInternal || error.code() == ErrorCode::kCorruption) {
    spdlog::error("request_failed id={} code={} detail={}", request_id, error_code_name(error.code()),
                  error.message());
    send_error(res, 500, "internal",
               "internal error (request id " + std::to_string(request_id) + "); the server log has the details");
    return;
  }
  send_error(res, status_for(error.code()), error_code_name(error.code()), error.message());
}

}  // namespace ota::http
