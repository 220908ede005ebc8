#include "crypto/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "crypto/openssl_errors.h"

namespace ota::crypto {

Result<std::unique_ptr<TlsServerContext>> TlsServerContext::create(std::shared_ptr<CertificateStore> store) {
  ErrorQueueGuard guard;
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return internal_error("cannot create a TLS context" + openssl_reason());
  std::unique_ptr<TlsServerContext> context(new TlsServerContext(ctx));
  // Partial writes let the loop send large bodies from the caller's buffer without OpenSSL
  // holding on to a pointer between calls; moving buffers keep retries valid either way.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  Status configured = configure_server_context(ctx, std::move(store));
  if (!configured) return configured.error();
  return context;
}

TlsServerContext::~TlsServerContext() { SSL_CTX_free(static_cast<SSL_CTX*>(ctx_)); }

std::unique_ptr<TlsSession> TlsSession::create(const TlsServerContext& context, int fd) {
  ErrorQueueGuard guard;
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(context.native()));
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return std::unique_ptr<TlsSession>(new TlsSession(ssl));
}

TlsSession::~TlsSession() { SSL_free(static_cast<SSL*>(ssl_)); }

TlsIo TlsSession::classify(int result) {
  switch (SSL_get_error(static_cast<SSL*>(ssl_), result)) {
    case SSL_ERROR_WANT_READ:
      return TlsIo::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return TlsIo::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      return TlsIo::kClosed;
    case SSL_ERROR_SYSCALL:
      // EOF without close_notify (phones do this all the time) or a reset: either way, gone.
      return ERR_peek_error() == 0 ? TlsIo::kClosed : TlsIo::kFailed;
    default:
      return TlsIo::kFailed;
  }
}

TlsIo TlsSession::handshake() {
  ErrorQueueGuard guard;
  int result = SSL_do_handshake(static_cast<SSL*>(ssl_));
  if (result == 1) {
    handshake_done_ = true;
    return TlsIo::kDone;
  }
  return classify(result);
}

TlsIo TlsSession::read(char* buffer, size_t size, size_t* n) {
  ErrorQueueGuard guard;
  int result = SSL_read_ex(static_cast<SSL*>(ssl_), buffer, size, n);
  return result == 1 ? TlsIo::kDone : classify(result);
}

TlsIo TlsSession::write(const char* data, size_t size, size_t* n) {
  ErrorQueueGuard guard;
  int result = SSL_write_ex(static_cast<SSL*>(ssl_), data, size, n);
  return result == 1 ? TlsIo::kDone : classify(result);
}

size_t TlsSession::pending() const { return static_cast<size_t>(SSL_pending(static_cast<SSL*>(ssl_))); }

void TlsSession::notify_close() {
  ErrorQueueGuard guard;
  if (handshake_done_) SSL_shutdown(static_cast<SSL*>(ssl_));
}

}  // namespace ota::crypto
