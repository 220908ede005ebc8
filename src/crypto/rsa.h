// RSA keys, RSASSA-PKCS1-v1_5/SHA-256 signatures, and the self-signed code-signing certificates
// that expo-updates accepts (docs: expo-updates-protocol.md §4). Part of the only OpenSSL module.
//
// Threading: an RsaPrivateKey is immutable after construction; sign_sha256 may be called from
// many threads at once (each call uses its own OpenSSL context).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::crypto {

class RsaPrivateKey {
 public:
  // Unencrypted PEM, PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8 ("BEGIN PRIVATE KEY").
  // kInvalidArgument with a message saying what was wrong (not PEM, encrypted, not RSA,
  // shorter than 2048 bits).
  static Result<RsaPrivateKey> from_pem(std::string_view pem);
  // A fresh key, e = 65537.
  static Result<RsaPrivateKey> generate(int bits = 2048);

  RsaPrivateKey(RsaPrivateKey&&) noexcept;
  RsaPrivateKey& operator=(RsaPrivateKey&&) noexcept;
  ~RsaPrivateKey();

  std::string private_pem() const;     // PKCS#8 PEM
  std::string public_pem() const;      // SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY")
  int bits() const;

  // The raw signature (modulus length, 256 bytes for RSA-2048) over SHA-256(data).
  Result<std::string> sign_sha256(std::string_view data) const;

  // For the certificate builder in rsa.cpp; opaque to callers.
  void* native_handle() const;

 private:
  struct Impl;
  explicit RsaPrivateKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Verifies an RSASSA-PKCS1-v1_5/SHA-256 signature. `key_pem` is a public key PEM or an X.509
// certificate PEM. Returns false for a wrong signature; an Error only for an unusable key.
Result<bool> verify_sha256(std::string_view key_pem, std::string_view data, std::string_view signature);

struct CertificateOptions {
  std::string common_name;       // subject = issuer = CN=<common_name>
  int64_t not_before_ms = 0;     // usually now
  int validity_days = 3650;
};

// A self-signed X.509 v3 certificate (SHA-256) for code signing, as expo-updates checks it:
// keyUsage = critical, digitalSignature; extendedKeyUsage = critical, codeSigning
// (1.3.6.1.5.5.7.3.3); basicConstraints CA:FALSE; a random 128-bit serial; subject key id.
Result<std::string> make_code_signing_certificate(const RsaPrivateKey& key, const CertificateOptions& options);

struct CertificateInfo {
  std::string common_name;
  int64_t not_before_ms = 0;
  int64_t not_after_ms = 0;
  bool digital_signature = false;  // keyUsage contains digitalSignature
  bool code_signing = false;       // extendedKeyUsage contains codeSigning
  std::string public_pem;          // the certificate's public key as SubjectPublicKeyInfo PEM
};

// Parses a certificate PEM. kInvalidArgument if it is not one.
Result<CertificateInfo> inspect_certificate(std::string_view pem);

}  // namespace ota::crypto
