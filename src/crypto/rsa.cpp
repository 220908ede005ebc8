#include "crypto/rsa.h"
#include "crypto/openssl_ptr.h"
#include "crypto/openssl_errors.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <ctime>

#include "crypto/digest.h"

namespace ota::crypto {
namespace {

// Below this, RSA keys are breakable by well-funded attackers; expo's own tooling generates 2048.
constexpr int kMinRsaBits = 2048;
// Keygen time grows with the cube of the size; nobody needs more, and a typo should not hang.
constexpr int kMaxRsaBits = 16384;
// X.520 ub-common-name; OpenSSL refuses longer values with a less helpful message.
constexpr size_t kMaxCommonNameLength = 64;
constexpr int kMaxValidityDays = 36500;
constexpr char kRemovePassphraseHint[] =
    "remove the passphrase, e.g. `openssl pkey -in key.pem -out plain.pem`, and use plain.pem";

using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }  // a macro, so no Deleter<>
};
using Utf8Ptr = std::unique_ptr<unsigned char, OpensslFree>;


// The first reason in the queue, for folding into a message; empties the queue. OpenSSL 3's
// decoders push a generic "unsupported" ahead of the ASN.1 reason that says what was wrong
// ("wrong tag", "too long"), so the first reason from any other library wins when there is one.
std::string take_openssl_reason() {
  unsigned long first = 0;
  unsigned long first_specific = 0;
  while (const unsigned long code = ERR_get_error()) {
    if (first == 0) first = code;
    if (first_specific == 0 && ERR_GET_LIB(code) != ERR_LIB_OSSL_DECODER) first_specific = code;
  }
  const unsigned long chosen = first_specific != 0 ? first_specific : first;
  if (chosen == 0) return {};
  const char* reason = ERR_reason_error_string(chosen);
  return reason != nullptr ? reason : "error code " + std::to_string(ERR_GET_REASON(chosen));
}

std::string with_reason(std::string message) {
  std::string reason = take_openssl_reason();
  if (!reason.empty()) message += " (OpenSSL: " + reason + ")";
  return message;
}

// Failing to allocate a memory BIO or to serialize a key we already hold only happens when memory
// runs out; like digest.cpp, treat that as fatal rather than hand back an empty PEM.
BioPtr new_mem_bio() {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) std::abort();
  return bio;
}

BioPtr read_only_bio(std::string_view data) {
  if (data.size() > static_cast<size_t>(INT_MAX)) return nullptr;
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) std::abort();
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

bool contains(std::string_view text, std::string_view needle) { return text.find(needle) != std::string_view::npos; }

bool looks_like_pem(std::string_view text) { return contains(text, "-----BEGIN "); }

// Never prompts on a terminal (OpenSSL's default when no callback is given): records that a
// passphrase was needed and fails the read.
int refuse_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

std::string key_type_name(const EVP_PKEY* pkey) {
  const char* name = EVP_PKEY_get0_type_name(pkey);
  return name != nullptr ? name : "unknown";
}

Status require_rsa(const EVP_PKEY* pkey) {
  // "RSA-PSS" keys are RSA too, but restricted to PSS: they cannot make the PKCS#1 v1.5
  // signatures expo-updates checks.
  if (EVP_PKEY_is_a(pkey, "RSA") != 1) {
    return invalid_argument("the key's type is " + key_type_name(pkey) +
                            ", but expo code signing needs an RSA key; create one with "
                            "`openssl genrsa -out key.pem 2048`");
  }
  return ok();
}


// Floor division, so that -1 ms is 1969-12-31T23:59:59, not the epoch.
int64_t ms_to_seconds(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

std::string public_pem_of(EVP_PKEY* pkey) {
  BioPtr bio = new_mem_bio();
  if (PEM_write_bio_PUBKEY(bio.get(), pkey) != 1) std::abort();
  return bio_contents(bio.get());
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509ExtPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return internal_error(
        with_reason(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) + "=" + value));
  }
  return ok();
}

Result<std::string> common_name_of(X509* cert) {
  const X509_NAME* subject = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::string();
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return invalid_argument(with_reason("the certificate's subject common name is not valid text"));
  Utf8Ptr owned(utf8);
  return std::string(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
}

}  // namespace

struct RsaPrivateKey::Impl {
  PkeyPtr pkey;
};

RsaPrivateKey::RsaPrivateKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RsaPrivateKey::RsaPrivateKey(RsaPrivateKey&&) noexcept = default;
RsaPrivateKey& RsaPrivateKey::operator=(RsaPrivateKey&&) noexcept = default;
RsaPrivateKey::~RsaPrivateKey() = default;

Result<RsaPrivateKey> RsaPrivateKey::from_pem(std::string_view pem) {
  ErrorQueueGuard guard;
  if (!looks_like_pem(pem)) {
    return invalid_argument(
        "the private key is not PEM: expected text starting with \"-----BEGIN PRIVATE KEY-----\" or "
        "\"-----BEGIN RSA PRIVATE KEY-----\"");
  }
  if (contains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") || contains(pem, "Proc-Type: 4,ENCRYPTED")) {
    return invalid_argument(std::string("the private key is encrypted with a passphrase; ") + kRemovePassphraseHint);
  }
  if (!contains(pem, "PRIVATE KEY-----")) {
    return invalid_argument(
        "the PEM holds no private key (a public key or certificate cannot sign); pass the private key, "
        "\"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\"");
  }
  BioPtr bio = read_only_bio(pem);
  if (!bio) return invalid_argument("the private key PEM is too large");
  bool passphrase_asked = false;
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &passphrase_asked));
  if (passphrase_asked) {
    return invalid_argument(std::string("the private key is encrypted with a passphrase; ") + kRemovePassphraseHint);
  }
  if (!pkey) {
    return invalid_argument(with_reason(
        "cannot read the private key PEM; it must be an unencrypted PKCS#8 (\"BEGIN PRIVATE KEY\") or PKCS#1 "
        "(\"BEGIN RSA PRIVATE KEY\") RSA key, e.g. from `openssl genrsa -out key.pem 2048`"));
  }
  OTA_TRY(require_rsa(pkey.get()));
  const int bits = EVP_PKEY_get_bits(pkey.get());
  if (bits < kMinRsaBits) {
    return invalid_argument("the RSA key has " + std::to_string(bits) + " bits; at least " +
                            std::to_string(kMinRsaBits) +
                            " are required; create a new one with `openssl genrsa -out key.pem 2048`");
  }
  return RsaPrivateKey(std::make_unique<Impl>(Impl{std::move(pkey)}));
}

Result<RsaPrivateKey> RsaPrivateKey::generate(int bits) {
  ErrorQueueGuard guard;
  if (bits < kMinRsaBits || bits > kMaxRsaBits) {
    return invalid_argument("RSA key size " + std::to_string(bits) + " is out of range; use " +
                            std::to_string(kMinRsaBits) + " to " + std::to_string(kMaxRsaBits) + " bits");
  }
  // The default public exponent is 65537.
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
  if (!pkey) return internal_error(with_reason("RSA key generation failed"));
  return RsaPrivateKey(std::make_unique<Impl>(Impl{std::move(pkey)}));
}

std::string RsaPrivateKey::private_pem() const {
  ErrorQueueGuard guard;
  BioPtr bio = new_mem_bio();
  // PEM_write_bio_PrivateKey writes PKCS#8 for provider keys (all keys in OpenSSL 3 built here).
  if (PEM_write_bio_PrivateKey(bio.get(), impl_->pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    std::abort();
  }
  return bio_contents(bio.get());
}

std::string RsaPrivateKey::public_pem() const {
  ErrorQueueGuard guard;
  return public_pem_of(impl_->pkey.get());
}

int RsaPrivateKey::bits() const { return EVP_PKEY_get_bits(impl_->pkey.get()); }

void* RsaPrivateKey::native_handle() const { return impl_->pkey.get(); }

Result<std::string> RsaPrivateKey::sign_sha256(std::string_view data) const {
  ErrorQueueGuard guard;
  // A fresh context per call: the EVP_PKEY itself is only read, so concurrent calls are safe.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return internal_error("out of memory creating a signing context");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, impl_->pkey.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
    return internal_error(with_reason("cannot start an RSA-SHA256 signature"));
  }
  size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1) {
    return internal_error(with_reason("RSA-SHA256 signing failed"));
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, in, data.size()) != 1) {
    return internal_error(with_reason("RSA-SHA256 signing failed"));
  }
  signature.resize(len);
  return signature;
}

Result<bool> verify_sha256(std::string_view key_pem, std::string_view data, std::string_view signature) {
  ErrorQueueGuard guard;
  if (!looks_like_pem(key_pem)) {
    return invalid_argument(
        "the verification key is not PEM: expected \"-----BEGIN PUBLIC KEY-----\" or "
        "\"-----BEGIN CERTIFICATE-----\"");
  }
  BioPtr bio = read_only_bio(key_pem);
  if (!bio) return invalid_argument("the verification key PEM is too large");
  PkeyPtr pkey;
  if (contains(key_pem, "-----BEGIN CERTIFICATE-----")) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return invalid_argument(with_reason("cannot read the certificate PEM; it is damaged or truncated"));
    pkey.reset(X509_get_pubkey(cert.get()));  // a new reference, independent of cert
    if (!pkey) return invalid_argument(with_reason("cannot read the certificate's public key"));
  } else if (contains(key_pem, "-----BEGIN PUBLIC KEY-----")) {
    pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!pkey) {
      return invalid_argument(
          with_reason("cannot read the public key PEM; it must be a \"BEGIN PUBLIC KEY\" block as written by "
                      "`openssl pkey -in key.pem -pubout`"));
    }
  } else if (contains(key_pem, "-----BEGIN RSA PUBLIC KEY-----")) {
    return invalid_argument(
        "the public key is in PKCS#1 form (\"BEGIN RSA PUBLIC KEY\"); convert it with "
        "`openssl rsa -RSAPublicKey_in -in key.pem -pubout -out pub.pem`");
  } else {
    return invalid_argument(
        "the verification key PEM is neither a public key (\"BEGIN PUBLIC KEY\") nor a certificate "
        "(\"BEGIN CERTIFICATE\")");
  }
  OTA_TRY(require_rsa(pkey.get()));

  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return internal_error("out of memory creating a verification context");
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) {
    return invalid_argument(with_reason("cannot verify with this key"));
  }
  // Once the key is usable, any failure (wrong length, bad padding, mismatch) means the signature
  // does not match; the guard discards the reasons.
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

Result<std::string> make_code_signing_certificate(const RsaPrivateKey& key, const CertificateOptions& options) {
  ErrorQueueGuard guard;
  if (options.common_name.empty() || options.common_name.size() > kMaxCommonNameLength) {
    return invalid_argument("the certificate common name must be 1 to " + std::to_string(kMaxCommonNameLength) +
                            " characters, got " + std::to_string(options.common_name.size()));
  }
  if (options.validity_days < 1 || options.validity_days > kMaxValidityDays) {
    return invalid_argument("the certificate validity must be 1 to " + std::to_string(kMaxValidityDays) +
                            " days, got " + std::to_string(options.validity_days));
  }
  auto* pkey = static_cast<EVP_PKEY*>(key.native_handle());

  X509Ptr cert(X509_new());
  if (!cert) return internal_error("out of memory creating a certificate");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return internal_error(with_reason("cannot set the certificate version"));
  }

  // 128 random bits read as an unsigned number: positive by construction, 17 DER octets at most
  // (RFC 5280 allows 20). Zero is not a valid serial; 2^-128 odds, but cheap to rule out.
  const std::string serial_bytes = random_bytes(16);
  BignumPtr serial(BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()),
                             static_cast<int>(serial_bytes.size()), nullptr));
  if (!serial || (BN_is_zero(serial.get()) && BN_one(serial.get()) != 1) ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return internal_error(with_reason("cannot set the certificate serial number"));
  }

  X509NamePtr name(X509_NAME_new());
  if (!name || X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_UTF8,
                                          reinterpret_cast<const unsigned char*>(options.common_name.data()),
                                          static_cast<int>(options.common_name.size()), -1, 0) != 1) {
    return invalid_argument(with_reason("the certificate common name \"" + options.common_name + "\" is not usable"));
  }
  if (X509_set_subject_name(cert.get(), name.get()) != 1 || X509_set_issuer_name(cert.get(), name.get()) != 1) {
    return internal_error(with_reason("cannot set the certificate names"));
  }

  const auto not_before = static_cast<time_t>(ms_to_seconds(options.not_before_ms));
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) == nullptr ||
      ASN1_TIME_adj(X509_getm_notAfter(cert.get()), not_before, options.validity_days, 0) == nullptr) {
    return invalid_argument(with_reason("the certificate validity period cannot be encoded; check not_before"));
  }
  if (X509_set_pubkey(cert.get(), pkey) != 1) {
    return internal_error(with_reason("cannot set the certificate public key"));
  }

  X509V3_CTX ctx{};
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  OTA_TRY(add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  OTA_TRY(add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  OTA_TRY(add_extension(cert.get(), &ctx, NID_ext_key_usage, "critical,codeSigning"));
  OTA_TRY(add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));

  if (X509_sign(cert.get(), pkey, EVP_sha256()) <= 0) {
    return internal_error(with_reason("cannot sign the certificate"));
  }
  BioPtr bio = new_mem_bio();
  if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) {
    return internal_error(with_reason("cannot encode the certificate as PEM"));
  }
  return bio_contents(bio.get());
}

Result<CertificateInfo> inspect_certificate(std::string_view pem) {
  ErrorQueueGuard guard;
  if (!contains(pem, "-----BEGIN CERTIFICATE-----")) {
    return invalid_argument("not a certificate: expected PEM text starting with \"-----BEGIN CERTIFICATE-----\"");
  }
  BioPtr bio = read_only_bio(pem);
  if (!bio) return invalid_argument("the certificate PEM is too large");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return invalid_argument(with_reason("cannot read the certificate PEM; it is damaged or truncated"));

  CertificateInfo info;
  OTA_ASSIGN_OR_RETURN(info.common_name, common_name_of(cert.get()));

  int64_t not_before = 0;
  int64_t not_after = 0;
  if (!asn1_time_to_seconds(X509_get0_notBefore(cert.get()), &not_before) ||
      !asn1_time_to_seconds(X509_get0_notAfter(cert.get()), &not_after)) {
    return invalid_argument(with_reason("the certificate's validity period does not parse"));
  }
  info.not_before_ms = not_before * 1000;
  info.not_after_ms = not_after * 1000;

  // X509_get_key_usage() reports "everything" when the extension is absent; expo requires the
  // extension itself, so look at the presence flags first.
  const uint32_t flags = X509_get_extension_flags(cert.get());
  if ((flags & EXFLAG_INVALID) != 0) {
    return invalid_argument(with_reason("the certificate has malformed extensions"));
  }
  info.digital_signature = (flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE) != 0;
  info.code_signing = (flags & EXFLAG_XKUSAGE) != 0 && (X509_get_extended_key_usage(cert.get()) & XKU_CODE_SIGN) != 0;

  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());  // owned by cert
  if (pkey == nullptr) return invalid_argument(with_reason("cannot read the certificate's public key"));
  info.public_pem = public_pem_of(pkey);
  return info;
}

}  // namespace ota::crypto
