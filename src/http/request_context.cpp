#include "http/request_context.h"

#include <httplib.h>

namespace ota::http {
namespace {
thread_local RequestContext tls_context;
// Set by close_after_response, read by the connection loop once the response is out.
thread_local bool tls_close_connection = false;
}

RequestContext& begin_request(uint64_t id, int64_t start_ns) {
  tls_context = RequestContext{};
  tls_context.id = id;
  tls_context.start_ns = start_ns;
  return tls_context;
}

RequestContext& current_request() { return tls_context; }

void end_request() { tls_context = RequestContext{}; }

void close_after_response(const httplib::Request&, httplib::Response& res) {
  res.set_header("Connection", "close");
  tls_close_connection = true;
}

bool take_close_connection() {
  bool close = tls_close_connection;
  tls_close_connection = false;
  return close;
}

}  // namespace ota::http
