#include "http/request_context.h"

#include <httplib.h>

namespace ota::http {
namespace {
thread_local RequestContext tls_context;
}

RequestContext& begin_request(uint64_t id, int64_t start_ns) {
  tls_context = RequestContext{};
  tls_context.id = id;
  tls_context.start_ns = start_ns;
  return tls_context;
}

RequestContext& current_request() { return tls_context; }

void end_request() { tls_context = RequestContext{}; }

void close_after_response(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Connection", "close");
  if (req.version != "HTTP/1.1" || req.method == "HEAD") return;
  std::string content_type = res.get_header_value("Content-Type");
  auto body = std::make_shared<std::string>(std::move(res.body));
  res.body.clear();
  res.headers.erase("Content-Type");
  res.set_chunked_content_provider(content_type, [body](size_t, httplib::DataSink& sink) {
    if (!body->empty()) sink.write(body->data(), body->size());
    sink.done();
    return false;  // "failed": the library closes the connection after the final chunk
  });
}

}  // namespace ota::http
