// The listener and the connections it accepted, served by a fixed set of worker threads.
//
// cpp-httplib 0.11 gives every open connection a thread for its whole life and polls idle ones
// every 10 ms (docs/perf-baseline.md §3): a thousand idle phones starve new clients and burn
// cores doing nothing. Here an idle connection is only an entry in an epoll set. All workers wait
// on that one set; whoever is woken serves the request(s) that arrived on that connection, then
// hands it back to the set. Threads therefore bound requests *in progress*, not connections open.
//
// Each connection is armed one-shot, so exactly one worker owns it at a time. A slot table
// (index + generation in the epoll data) makes late events for closed connections harmless.
// A housekeeping thread closes connections idle longer than the keep-alive timeout, sooner
// when the table is nearly full.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "crypto/tls_session.h"
#include "http/connection_stream.h"

namespace ota::http {

struct ConnectionLoopOptions {
  int workers = 64;                // threads: requests in progress at once, waiting ones included
  int running_workers = 4;         // of those, how many run at once (http/worker_gate.h)
  int backlog = 4096;              // connections the kernel queues before accept
  size_t max_connections = 10000;  // open at once; beyond it new clients get a 503
  int idle_timeout_s = 15;         // keep-alive: how long an idle connection stays open
  size_t max_requests_per_connection = 1000;
  StreamTimeouts timeouts;
};

class ConnectionLoop {
 public:
  // Serves one request from `stream`. `last` means the connection will be closed after it (so
  // the response should say so). Returns whether the connection may stay open.
  using ServeOne = std::function<bool(ConnectionStream& stream, bool last)>;

  // `tls` (optional) must outlive the loop.
  ConnectionLoop(ConnectionLoopOptions options, const crypto::TlsServerContext* tls, ServeOne serve);
  ~ConnectionLoop();
  ConnectionLoop(const ConnectionLoop&) = delete;
  ConnectionLoop& operator=(const ConnectionLoop&) = delete;

  // Creates the listening socket; returns the bound port (`port` 0 picks a free one).
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(); returns once every worker has finished its request and every
  // connection is closed.
  Status run();
  // Stops accepting and asks workers to finish. Thread-safe; returns at once.
  void stop();
  bool stopping() const;

  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ota::http
