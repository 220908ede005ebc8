#include "http/server.h"

#include <chrono>
#include <stdexcept>
#include <thread>
#include <sys/socket.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/strings.h"
#include "crypto/tls_session.h"
#include "http/connection_loop.h"
#include "http/errors.h"
#include "http/forwarded.h"
#include "http/request_context.h"
#include "http/routes.h"
#include "http/worker_gate.h"

namespace ota::http {
namespace {

// The library's router, request parser and response writer, driven by our connection loop
// instead of its own accept loop (http/connection_loop.h). process_request is protected.
class Router : public httplib::Server {
 public:
  // Serves one request; false when the connection must close (end of stream, a read or write
  // failure, the client's `Connection: close`, or a handler's close_after_response).
  bool serve_one(httplib::Stream& stream, bool last) {
    bool client_closes = false;
    bool written = process_request(stream, last, client_closes, nullptr);
    bool handler_closes = take_close_connection();
    return written && !client_closes && !handler_closes;
  }
  // The library stops content providers (asset downloads) once it believes it is shutting down,
  // which it judges by its own listening socket being invalid. It never gets one here (the loop
  // owns ours), so mark it as serving; shutdown is the loop's business.
  void mark_serving() { svr_sock_ = 0; }
};

// The X-Forwarded-For header lines, in the order received.
std::vector<std::string> forwarded_for(const httplib::Request& req) {
  std::vector<std::string> lines;
  auto [begin, end] = req.headers.equal_range("X-Forwarded-For");
  for (auto it = begin; it != end; ++it) lines.push_back(it->second);
  return lines;
}

// The headers the library itself adds to every request. A client that sends one of them would
// shadow the real value (CVE-2025-66570), so such requests are refused.
constexpr std::string_view kLibraryHeaders[] = {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"};

bool carries_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  auto length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  const Services& services;
  Router svr;
  std::unique_ptr<crypto::TlsServerContext> tls_context;
  std::unique_ptr<ConnectionLoop> loop;
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> next_request_id{1};
  int64_t started_ms = 0;

  Impl(ServerOptions o, const Services& s) : options(std::move(o)), services(s) {
    configure_library();
    install_guards();
    install_routes();
  }

  void configure_library() {
    // Only what the library still decides: the Keep-Alive header it writes, and body limits.
    svr.set_keep_alive_max_count(options.keep_alive_max_requests);
    svr.set_keep_alive_timeout(options.keep_alive_timeout_s);
    svr.set_payload_max_length(options.max_body_bytes);
  }

  // Runs before routing and before any body is read: the place for every check that must not
  // depend on the body (docs/reliability.md §4.1, W1-W9, W14).
  void install_guards() {
    svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      RequestContext& ctx = begin_request(next_request_id.fetch_add(1), now_ns());
      in_flight.fetch_add(1, std::memory_order_relaxed);
      ctx.counted = true;
      // First, so that even a rejected request is logged with its real client. With nobody
      // trusted (the default) there is nothing to work out: an empty client_addr means the TCP
      // peer, which the access log and peer() format only when they need it.
      if (!options.trusted_proxies.empty()) {
        ClientAddress client =
            client_address(req.remote_addr, req.remote_port, forwarded_for(req), options.trusted_proxies);
        ctx.client_addr = std::move(client.text);
        ctx.client_forwarded = client.forwarded;
      }

      size_t client_headers = 0, header_bytes = 0;
      for (const auto& [name, value] : req.headers) {
        header_bytes += name.size() + value.size() + 4;
        ++client_headers;
      }
      for (auto name : kLibraryHeaders) {
        size_t n = req.headers.count(std::string(name));
        if (n > 1) {
          reject(req, res, 400, "invalid_argument",
                 "requests must not carry a " + std::string(name) + " header");
          return httplib::Server::HandlerResponse::Handled;
        }
        client_headers -= std::min(client_headers, n);
      }
      if (client_headers > options.max_headers || header_bytes > options.max_header_bytes) {
        reject(req, res, 431, "too_large",
               "too many or too large request headers (at most " + std::to_string(options.max_headers) +
                   " headers and " + format_bytes(options.max_header_bytes) + ")");
        return httplib::Server::HandlerResponse::Handled;
      }
      // The library would inflate a compressed request body without any size limit.
      if (req.has_header("Content-Encoding")) {
        reject(req, res, 415, "unsupported", "compressed request bodies are not accepted; send identity");
        return httplib::Server::HandlerResponse::Handled;
      }
      // The library's own range handling would build multi-range answers out of our bodies (W6).
      // The asset route parses Range itself (one range at most); everywhere else it is ignored.
      if (!req.ranges.empty()) const_cast<httplib::Request&>(req).ranges.clear();
      if (req.path == "/api/v1/patches/check") {
        // The devices' check endpoint: no token, a small JSON body with a Content-Length.
        if (req.method != "POST") {
          reject(req, res, 405, "method_not_allowed", "use POST");
          return httplib::Server::HandlerResponse::Handled;
        }
        auto length = parse_uint(req.get_header_value("Content-Length"));
        if (req.has_header("Transfer-Encoding") || !length || *length > 16 * 1024) {
          reject(req, res, 413, "too_large", "send a JSON body of at most 16 KiB with a Content-Length");
          return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
      }
      if (starts_with(req.path, "/api/")) {
        // Admin requests may take long (uploads, publishes, backups): not on the devices' places.
        WorkerGate::leave_current();
        if (guard_api_request(req, res, services, options)) return httplib::Server::HandlerResponse::Handled;
        return httplib::Server::HandlerResponse::Unhandled;
      }
      if (req.method != "GET" && req.method != "HEAD") {
        res.set_header("Allow", "GET, HEAD");
        reject(req, res, 405, "method_not_allowed", req.method + " is not allowed here; use GET");
        return httplib::Server::HandlerResponse::Handled;
      }
      // No public route takes a body. A body the handler never reads would otherwise be parsed
      // as the next request on this connection (request smuggling).
      if (carries_body(req)) {
        reject(req, res, 413, "too_large", "this endpoint takes no request body");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });

    svr.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, internal_error(what), current_request().id);
    });

    // Fills in a JSON body for answers the library produced on its own (404 for unknown paths,
    // 400 for unparsable requests, 416 ...). Answers our handlers wrote are left alone.
    svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty() || res.is_chunked_content_provider_ || current_request().bare_error) return;
      if (res.status == 404) {
        send_error(res, 404, "not_found", "no such endpoint: " + req.method + " " + req.path.substr(0, 200));
      } else {
        send_error(res, res.status, "http_error", "the request could not be handled (HTTP " + std::to_string(res.status) + ")");
      }
    });

    svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      RequestContext& ctx = current_request();
      int64_t elapsed_ns = ctx.start_ns ? now_ns() - ctx.start_ns : 0;
      uint64_t bytes = res.content_length_ ? res.content_length_ : res.body.size();
      if (services.http_metrics != nullptr) {
        services.http_metrics->observe(telemetry::classify_route(req.method, req.path), res.status, elapsed_ns, bytes);
      }
      if (options.access_log) {
        double ms = ctx.start_ns ? static_cast<double>(elapsed_ns) / 1e6 : -1;
        std::string tcp_peer = req.remote_addr + ":" + std::to_string(req.remote_port);
        // The proxy a forwarded request came through, to debug trusted_proxies with.
        std::string via = ctx.client_forwarded ? " via=" + tcp_peer : std::string();
        // The path only: query strings may carry signed tokens, which are never logged.
        spdlog::info("access id={} peer={}{} method={} path={} status={} bytes={} ms={:.3f}", ctx.id,
                     ctx.client_addr.empty() ? tcp_peer : ctx.client_addr, via, req.method, req.path.substr(0, 512),
                     res.status, bytes, ms);
      }
      if (ctx.counted) in_flight.fetch_sub(1, std::memory_order_relaxed);
      end_request();
    });
  }

  // Answers an early rejection and closes the connection: the request body (if any) was never
  // read, and in 0.11.4 a `Connection: close` header alone does not stop the keep-alive loop.
  void reject(const httplib::Request& req, httplib::Response& res, int status, std::string_view code,
              std::string_view message) {
    send_error(res, status, code, message);
    close_after_response(req, res);
  }

  void install_routes() {
    svr.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json body = {
          {"status", "ok"},
          {"version", services.health.version},
          {"schema_version", services.health.schema_version},
          {"uptime_s", (services.clock->now_ms() - started_ms) / 1000},
      };
      res.set_header("Cache-Control", "no-store");
      res.set_content(body.dump(), "application/json");
    });
    install_expo_routes(svr, services);
    install_api_routes(svr, services, options);
    install_patch_routes(svr, services);
    install_admin_routes(svr, services, options);
    install_insight_routes(svr, services, options);
    install_backup_routes(svr, services);
#ifdef OTA_TEST_HOOKS
    // Lets tests prove that a handler exception never reaches the client (W9).
    svr.Get("/__test/throw", [](const httplib::Request&, httplib::Response&) {
      throw std::runtime_error("SQLITE_IOERR at /var/lib/otaserver/metadata.db (test hook)");
    });
#endif
    // Last: paths configured per app for patches (e.g. /rc/{short}/{build}.config), else 404.
    install_patch_template_route(svr, services);
  }

  static int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

Server::Server(ServerOptions options, const Services& services)
    : impl_(std::make_unique<Impl>(std::move(options), services)) {}

Server::~Server() = default;

Result<int> Server::bind() {
  Impl& m = *impl_;
  const ServerOptions& o = m.options;
  if (o.tls) {
    auto context = crypto::TlsServerContext::create(o.tls);
    if (!context) return Error(ErrorCode::kInternal, "cannot set up TLS: " + context.error().message());
    m.tls_context = std::move(*context);
  }
  ConnectionLoopOptions loop_options;
  loop_options.workers = o.workers;
  // One per core, plus two for workers stalled on something the gate cannot see (a page fault,
  // an fsync inside SQLite).
  loop_options.running_workers = static_cast<int>(std::max(2u, std::thread::hardware_concurrency())) + 2;
  loop_options.backlog = o.backlog;
  loop_options.max_connections = o.max_connections;
  loop_options.idle_timeout_s = o.keep_alive_timeout_s;
  loop_options.max_requests_per_connection = o.keep_alive_max_requests;
  loop_options.timeouts = {o.read_timeout_s * 1000, o.write_timeout_s * 1000};
  m.loop = std::make_unique<ConnectionLoop>(
      loop_options, m.tls_context.get(),
      [&m](ConnectionStream& stream, bool last) { return m.svr.serve_one(stream, last); });
  auto port = m.loop->bind(o.host, o.port);
  if (!port) return port.error();
  m.svr.mark_serving();
  return *port;
}

Status Server::run() {
  if (!impl_->loop) return internal_error("Server::run before bind");
  impl_->started_ms = impl_->services.clock->now_ms();
  return impl_->loop->run();
}

void Server::stop() {
  if (impl_->loop) impl_->loop->stop();
}

int64_t Server::in_flight() const { return impl_->in_flight.load(); }

size_t Server::open_connections() const { return impl_->loop ? impl_->loop->open_connections() : 0; }

}  // namespace ota::http
