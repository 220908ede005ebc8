// TLS for servers that face clients without a reverse proxy: the certificate and key the server
// presents, and the OpenSSL server context settings. Part of the only OpenSSL module; callers
// (http/) see no OpenSSL types and hand the SSL_CTX over as an opaque pointer.
//
// Certificates are swapped, never edited: each handshake takes the store's current certificate,
// so a reload replaces one immutable TlsCertificate with another while handshakes that already
// took the old one finish with it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"

namespace ota::crypto {

// A certificate chain and its private key, loaded from PEM files and checked to belong together.
// Immutable after load; safe to share between threads.
class TlsCertificate {
 public:
  // `cert_path`: the leaf certificate first, then any intermediates (certbot's fullchain.pem).
  // `key_path`: its unencrypted private key (PKCS#8, PKCS#1 or SEC1 PEM).
  // kInvalidArgument naming the file and what is wrong: unreadable, not PEM, no certificate,
  // an encrypted key, a key that does not match the certificate. Expiry is not checked here: the
  // caller decides (see expired()).
  static Result<std::shared_ptr<const TlsCertificate>> load(const std::string& cert_path, const std::string& key_path);

  ~TlsCertificate();
  TlsCertificate(const TlsCertificate&) = delete;
  TlsCertificate& operator=(const TlsCertificate&) = delete;

  const std::string& subject() const;  // "CN=ota.example.com" (RFC 2253 order)
  const std::string& issuer() const;
  int64_t not_before_s() const;                   // Unix seconds
  int64_t not_after_s() const;                    // Unix seconds
  std::string not_after_text() const;             // "2026-12-31T23:59:59Z"
  const std::string& sha256_fingerprint() const;  // "AB:CD:..." like `openssl x509 -fingerprint -sha256`
  size_t chain_length() const;                    // certificates in the chain, the leaf included
  bool expired(int64_t now_s) const { return now_s > not_after_s(); }

  // For configure_server_context's handshake callback; opaque to callers.
  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit TlsCertificate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The certificate handshakes present right now. replace() is one atomic pointer store, so it
// never blocks or changes a handshake in progress. Thread-safe.
class CertificateStore {
 public:
  explicit CertificateStore(std::shared_ptr<const TlsCertificate> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const TlsCertificate> current() const { return current_.load(); }
  void replace(std::shared_ptr<const TlsCertificate> next) { current_.store(std::move(next)); }

 private:
  std::atomic<std::shared_ptr<const TlsCertificate>> current_;
};

// Sets up `ssl_ctx` (an SSL_CTX*) for serving: TLS 1.2 minimum (1.3 preferred), ECDHE key
// exchange with AEAD ciphers only for 1.2, no compression, no renegotiation; session tickets
// stay on. Each handshake then presents `store`'s current certificate. The context keeps a
// reference to `store` until the context is freed. Call once, before the context is shared.
Status configure_server_context(void* ssl_ctx, std::shared_ptr<CertificateStore> store);

}  // namespace ota::crypto
