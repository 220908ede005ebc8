#include "crypto/tls.h"
#include "crypto/openssl_ptr.h"
#include "crypto/openssl_errors.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

#include "common/fs.h"

namespace ota::crypto {
namespace {

// TLS 1.2 suites with forward secrecy (ECDHE) and authenticated encryption (GCM, ChaCha20-Poly1305)
// only: Mozilla's "intermediate" list without the finite-field DHE suites. TLS 1.3 keeps
// OpenSSL's default suites, which are all AEAD. The client's order decides among these, so
// phones without AES hardware can pick ChaCha20.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Certificate chains are a few KiB; anything near this is not one.
constexpr size_t kMaxPemBytes = 1u << 20;

struct ChainFree {
  void operator()(STACK_OF(X509) * chain) const { sk_X509_pop_free(chain, X509_free); }  // a macro
};
using ChainPtr = std::unique_ptr<STACK_OF(X509), ChainFree>;

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

BioPtr read_only_bio(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) std::abort();  // only when memory runs out
  return bio;
}

// Never prompts on a terminal (OpenSSL's default without a callback): a server has nobody to
// type a passphrase, so it records that one was needed and fails the read.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

Result<std::string> read_pem_file(const std::string& path, std::string_view what) {
  auto text = read_file(path, kMaxPemBytes);
  if (!text) return invalid_argument("cannot read the " + std::string(what) + ": " + text.error().message());
  return std::move(*text);
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) std::abort();
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "(unprintable)";
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}


std::string fingerprint_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    char hex[4];
    std::snprintf(hex, sizeof hex, i + 1 < len ? "%02X:" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

// Reads every certificate in `pem`, the leaf first.
Result<std::vector<X509Ptr>> parse_chain(std::string_view pem, const std::string& path) {
  if (!contains(pem, "-----BEGIN CERTIFICATE-----")) {
    std::string hint = contains(pem, "PRIVATE KEY-----")
                           ? "; it looks like a private key: tls_cert is the certificate, tls_key the key"
                           : "; expected PEM text starting with \"-----BEGIN CERTIFICATE-----\"";
    return invalid_argument("the certificate file " + path + " holds no PEM certificate" + hint);
  }
  std::vector<X509Ptr> chain;
  BioPtr bio = read_only_bio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) chain.emplace_back(cert);
  // The loop ends with "no start line" at the end of the text; anything else is a broken block.
  const unsigned long last = ERR_peek_last_error();
  if (chain.empty() || (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE)) {
    return invalid_argument("the certificate file " + path + " holds a PEM block that is not a valid certificate" +
                            openssl_reason() + "; check that the file is complete (e.g. certbot's fullchain.pem)");
  }
  ERR_clear_error();
  return chain;
}

Result<PkeyPtr> parse_key(std::string_view pem, const std::string& path) {
  const std::string fix = "; tls_key must be the certificate's private key as unencrypted PEM";
  if (contains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(pem, "Proc-Type: 4,ENCRYPTED")) {
    return invalid_argument("the key file " + path +
                            " is encrypted with a passphrase, which a server cannot type; remove it with "
                            "`openssl pkey -in " +
                            path + " -out plain.pem` and point tls_key at plain.pem");
  }
  if (!contains(pem, "PRIVATE KEY-----")) {
    std::string what = contains(pem, "-----BEGIN CERTIFICATE-----") ? "a certificate" : "no PEM private key";
    return invalid_argument("the key file " + path + " holds " + what + fix);
  }
  BioPtr bio = read_only_bio(pem);
  bool passphrase_asked = false;
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &passphrase_asked));
  if (!key) {
    return invalid_argument("the key file " + path + " holds a private key OpenSSL cannot read" + openssl_reason() +
                            fix);
  }
  return key;
}

// Keeps the store alive for as long as an SSL_CTX refers to it: OpenSSL calls this when the
// context is freed (and for every other context, with nothing stored).
void free_store_holder(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/,
                       void* /*argp*/) {
  delete static_cast<std::shared_ptr<CertificateStore>*>(ptr);
}

int store_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_store_holder);
  return index;
}

}  // namespace

struct TlsCertificate::Impl {
  X509Ptr leaf;
  ChainPtr chain;  // the intermediates, without the leaf
  PkeyPtr key;
  std::string subject;
  std::string issuer;
  int64_t not_before_s = 0;
  int64_t not_after_s = 0;
  std::string fingerprint;
  size_t chain_length = 0;
};

namespace {

// Runs during each handshake, before the cipher is chosen: presents the certificate that is
// current right now. The SSL object takes its own references, so a later replace() cannot pull
// the certificate out from under this connection.
int select_certificate(SSL* ssl, void* arg) {
  std::shared_ptr<const TlsCertificate> cert = static_cast<CertificateStore*>(arg)->current();
  if (!cert) return 0;
  const TlsCertificate::Impl& c = cert->impl();
  return SSL_use_cert_and_key(ssl, c.leaf.get(), c.key.get(), c.chain.get(), 1) == 1 ? 1 : 0;
}

}  // namespace

TlsCertificate::TlsCertificate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsCertificate::~TlsCertificate() = default;

Result<std::shared_ptr<const TlsCertificate>> TlsCertificate::load(const std::string& cert_path,
                                                                   const std::string& key_path) {
  ErrorQueueGuard guard;
  OTA_ASSIGN_OR_RETURN(std::string cert_pem, read_pem_file(cert_path, "certificate (tls_cert)"));
  OTA_ASSIGN_OR_RETURN(std::string key_pem, read_pem_file(key_path, "private key (tls_key)"));
  OTA_ASSIGN_OR_RETURN(std::vector<X509Ptr> certs, parse_chain(cert_pem, cert_path));
  OTA_ASSIGN_OR_RETURN(PkeyPtr key, parse_key(key_pem, key_path));

  auto impl = std::make_unique<Impl>();
  impl->subject = name_text(X509_get_subject_name(certs.front().get()));
  impl->issuer = name_text(X509_get_issuer_name(certs.front().get()));
  if (X509_check_private_key(certs.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return invalid_argument("the private key in " + key_path + " does not belong to the certificate in " + cert_path +
                            " (" + impl->subject +
                            "); point tls_key at the key the certificate was issued for (certbot: privkey.pem "
                            "next to fullchain.pem)");
  }
  if (!asn1_time_to_seconds(X509_get0_notBefore(certs.front().get()), &impl->not_before_s) ||
      !asn1_time_to_seconds(X509_get0_notAfter(certs.front().get()), &impl->not_after_s)) {
    return invalid_argument("the certificate in " + cert_path + " has an unreadable validity period");
  }
  impl->fingerprint = fingerprint_sha256(certs.front().get());
  impl->chain_length = certs.size();
  impl->chain.reset(sk_X509_new_null());
  if (!impl->chain) std::abort();
  for (size_t i = 1; i < certs.size(); ++i) {
    if (sk_X509_push(impl->chain.get(), certs[i].get()) <= 0) std::abort();
    certs[i].release();  // now owned by the stack
  }
  impl->leaf = std::move(certs.front());
  impl->key = std::move(key);
  return std::shared_ptr<const TlsCertificate>(new TlsCertificate(std::move(impl)));
}

const std::string& TlsCertificate::subject() const { return impl_->subject; }
const std::string& TlsCertificate::issuer() const { return impl_->issuer; }
int64_t TlsCertificate::not_before_s() const { return impl_->not_before_s; }
int64_t TlsCertificate::not_after_s() const { return impl_->not_after_s; }
const std::string& TlsCertificate::sha256_fingerprint() const { return impl_->fingerprint; }
size_t TlsCertificate::chain_length() const { return impl_->chain_length; }

std::string TlsCertificate::not_after_text() const {
  const std::chrono::sys_seconds t{std::chrono::seconds(impl_->not_after_s)};
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day date{days};
  const std::chrono::hh_mm_ss time{t - days};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buf;
}

Status configure_server_context(void* ssl_ctx, std::shared_ptr<CertificateStore> store) {
  ErrorQueueGuard guard;
  auto* ctx = static_cast<SSL_CTX*>(ssl_ctx);
  if (ctx == nullptr || !store || !store->current()) {
    return internal_error("configure_server_context needs a context and a certificate");
  }
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); every client expo-updates runs on speaks 1.2.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return internal_error("cannot set the minimum TLS version" + openssl_reason());
  }
  // Compression leaks secrets (CRIME); renegotiation (either side's) is a denial-of-service lever
  // and HTTP/1.1 never needs it. Session tickets stay on: resumption saves phones a handshake.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return internal_error("cannot set the TLS 1.2 cipher list" + openssl_reason());
  }
  const int index = store_index();
  if (index < 0) return internal_error("cannot register TLS context data" + openssl_reason());
  CertificateStore* raw = store.get();
  auto* holder = new std::shared_ptr<CertificateStore>(std::move(store));
  delete static_cast<std::shared_ptr<CertificateStore>*>(SSL_CTX_get_ex_data(ctx, index));  // configured twice
  if (SSL_CTX_set_ex_data(ctx, index, holder) != 1) {
    delete holder;
    return internal_error("cannot attach the certificate store to the TLS context" + openssl_reason());
  }
  SSL_CTX_set_cert_cb(ctx, select_certificate, raw);
  return ok();
}

}  // namespace ota::crypto
