// One accepted client connection as cpp-httplib's Stream: what the library's request parser reads
// from and its response writer writes to. Replaces the library's own socket stream so that the
// connection loop (http/connection_loop.h), not a blocked thread, owns idle connections.
//
// Input is buffered (the parser reads one byte at a time), so bytes of a pipelined next request
// stay here between requests: has_buffered_input() tells the loop to serve again at once.
// Output is coalesced: small writes (status line and headers, small bodies) are held and leave in
// one send with the next large write or at flush(), so a response is one syscall where it can be.
// Reads and writes wait at most the configured timeouts; a failed write marks the stream broken.
#pragma once

#include <memory>
#include <string>

#include <httplib.h>

#include "crypto/tls_session.h"

namespace ota::http {

struct StreamTimeouts {
  int read_ms = 5000;
  int write_ms = 5000;
};

struct SocketAddress {
  std::string ip;
  int port = 0;
};

class ConnectionStream final : public httplib::Stream {
 public:
  // Takes ownership of `fd` (non-blocking) and of `tls` (null for plain HTTP).
  ConnectionStream(int fd, std::unique_ptr<crypto::TlsSession> tls, StreamTimeouts timeouts, SocketAddress peer,
                   SocketAddress local);
  ~ConnectionStream() override;
  ConnectionStream(const ConnectionStream&) = delete;
  ConnectionStream& operator=(const ConnectionStream&) = delete;

  bool is_readable() const override;
  bool is_writable() const override { return !broken_; }
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return fd_; }

  enum class Progress {
    kReady,     // go ahead: a whole request head (and small body) is here, or the parser should
                // see what is (too large, end of stream mid-request)
    kNeedMore,  // nothing or part of a request so far and nothing more to read right now
    kClosed,    // the client closed or broke the connection between requests
  };
  // Without blocking: finishes the TLS handshake as far as the client's bytes allow.
  Progress handshake();
  // Without blocking: reads what the client sent and says whether a request can be parsed
  // without waiting on the client. A client trickling its request therefore never holds a
  // worker; the loop's deadline bounds how long it may take.
  Progress poll_request();
  bool handshake_done() const { return !tls_ || tls_->handshake_done(); }
  // Bytes of the next request already received (ours or OpenSSL's).
  bool has_buffered_input() const;
  // Sends every held-back byte; false if the client is gone or too slow.
  bool flush();
  // Before the connection goes idle: give back a large output buffer.
  void trim();
  // TLS close_notify (best effort); the descriptor itself closes with the stream.
  void say_goodbye();
  int fd() const { return fd_; }

 private:
  bool wait_for(short events, int timeout_ms) const;
  // Blocks up to the read timeout; > 0 bytes, 0 at end of stream, -1 on error or timeout.
  ssize_t receive(char* buffer, size_t size);
  bool send_all(const char* first, size_t first_size, const char* second, size_t second_size);
  bool send_plain(const char* first, size_t first_size, const char* second, size_t second_size);
  bool send_tls(const char* data, size_t size);

  int fd_;
  std::unique_ptr<crypto::TlsSession> tls_;
  StreamTimeouts timeouts_;
  SocketAddress peer_;
  SocketAddress local_;
  bool request_buffered() const;
  bool make_input_room();

  std::unique_ptr<char[]> input_;
  size_t input_capacity_ = 0;
  size_t input_begin_ = 0;
  size_t input_end_ = 0;
  std::string output_;
  bool broken_ = false;
};

}  // namespace ota::http
