// Server-side TLS over a non-blocking socket, for the HTTP connection loop: the listener's
// context and one session per accepted connection. OpenSSL stays behind this header; the loop
// sees only "done / wants to read / wants to write / closed / failed" and does its own waiting.
#pragma once

#include <cstddef>
#include <memory>

#include "common/result.h"
#include "crypto/tls.h"

namespace ota::crypto {

// The listener's SSL_CTX, set up by configure_server_context. Thread-safe after creation.
class TlsServerContext {
 public:
  static Result<std::unique_ptr<TlsServerContext>> create(std::shared_ptr<CertificateStore> store);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  void* native() const { return ctx_; }

 private:
  explicit TlsServerContext(void* ctx) : ctx_(ctx) {}
  void* ctx_;
};

enum class TlsIo {
  kDone,       // the step completed (bytes moved, handshake finished)
  kWantRead,   // wait until the socket is readable, then call again
  kWantWrite,  // wait until the socket is writable, then call again
  kClosed,     // the peer closed the connection (close_notify or EOF)
  kFailed,     // protocol error or a socket error: drop the connection
};

// One connection's TLS state. Not thread-safe: one worker drives it at a time.
class TlsSession {
 public:
  // Null when OpenSSL cannot allocate the session (out of memory).
  static std::unique_ptr<TlsSession> create(const TlsServerContext& context, int fd);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool handshake_done() const { return handshake_done_; }
  TlsIo handshake();
  // On kDone, *n is the number of bytes read (> 0) or written (> 0, possibly less than size).
  TlsIo read(char* buffer, size_t size, size_t* n);
  TlsIo write(const char* data, size_t size, size_t* n);
  // Decrypted bytes OpenSSL already holds: the connection has input even if the socket has none.
  size_t pending() const;
  // Sends close_notify without waiting for the peer's (best effort, non-blocking).
  void notify_close();

 private:
  explicit TlsSession(void* ssl) : ssl_(ssl) {}
  TlsIo classify(int result);
  void* ssl_;
  bool handshake_done_ = false;
};

}  // namespace ota::crypto
