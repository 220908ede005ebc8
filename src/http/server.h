// The HTTP front: the only module that includes httplib.h. It owns the listener, the mitigations
// for cpp-httplib 0.11.4's weaknesses (docs/reliability.md §4.1), the access log and the single
// mapping from Error to HTTP status and JSON body. Handlers call into the layers below.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/net.h"
#include "common/result.h"
#include "crypto/tls.h"
#include "http/services.h"

namespace ota::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0 = pick a free port; bind() reports it
  int workers = 64;                   // threads: requests in progress at once (idle connections need none)
  int backlog = 4096;                 // the library's 5 drops SYNs under reconnect bursts
  size_t max_connections = 10000;     // open at once; beyond it new clients get a 503
  size_t keep_alive_max_requests = 1000;
  int keep_alive_timeout_s = 15;      // an idle keep-alive connection is closed after this
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  size_t max_body_bytes = 256u << 20; // the largest upload (PUT /api/v1/blobs/...)
  size_t max_json_body_bytes = 4u << 20;  // admin API JSON bodies
  int max_concurrent_uploads = 4;
  size_t max_headers = 64;            // client-sent header lines
  size_t max_header_bytes = 16u << 10;
  bool access_log = true;
  int64_t admin_session_ttl_s = 12 * 3600;  // admin page sign-ins last this long at most
  bool secure_cookies = false;        // mark the session cookie Secure (the public URL is https)
  std::string metrics_token;          // when set, GET /metrics needs `Authorization: Bearer <it>`
  // When set, the listener speaks HTTPS only, each handshake presenting the store's current
  // certificate (replace it there to reload). Null: plain HTTP.
  std::shared_ptr<crypto::CertificateStore> tls;
  // TCP peers whose X-Forwarded-For names the client (http/forwarded.h). Empty: nobody's.
  net::CidrSet trusted_proxies;
};


class Server {
 public:
  // Keeps a reference to `services`, which must outlive the server and be complete before run().
  Server(ServerOptions options, const Services& services);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the bound port. Errors name the address and the reason,
  // or why the TLS context could not be set up.
  Result<int> bind();
  // Serves until stop() is called; returns when the listener is closed and every worker is done.
  Status run();
  // Stops accepting new connections. Thread-safe and async-signal-unsafe: call from a normal thread.
  void stop();
  // Requests being handled right now (for the shutdown log line).
  int64_t in_flight() const;
  // Client connections open right now, idle ones included.
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ota::http
