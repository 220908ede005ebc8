#include "crypto/seal.h"
#include "crypto/openssl_errors.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <climits>
#include <memory>

#include "crypto/digest.h"

namespace ota::crypto {
namespace {

constexpr char kVersion = 0x01;
constexpr size_t kKeySize = 32;
constexpr size_t kNonceSize = 12;  // GCM's native IV size: no extra GHASH over the IV
constexpr size_t kTagSize = 16;
constexpr size_t kOverhead = 1 + kNonceSize + kTagSize;
// Sealed values are small secrets; the bound keeps every length within OpenSSL's int.
constexpr size_t kMaxSize = size_t{1} << 30;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;


const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

Status check_key(std::string_view key) {
  if (key.size() != kKeySize) {
    return invalid_argument("a sealing key must be " + std::to_string(kKeySize) + " bytes, got " +
                            std::to_string(key.size()) + "; derive one with crypto::derive_key");
  }
  return ok();
}

Error authentication_failed() {
  return corruption(
      "a sealed value failed authentication: it was altered, or secret.key or the value's context is not the "
      "one it was sealed with; restore the data directory's secret.key, or re-create the value");
}

}  // namespace

std::string derive_key(std::string_view secret, std::string_view purpose) {
  const auto mac = hmac_sha256(secret, "otaserver/" + std::string(purpose));
  return std::string(reinterpret_cast<const char*>(mac.data()), mac.size());
}

Result<std::string> seal(std::string_view key, std::string_view plaintext, std::string_view context) {
  ErrorQueueGuard guard;
  OTA_TRY(check_key(key));
  if (plaintext.size() > kMaxSize || context.size() > kMaxSize) {
    return invalid_argument("a value to seal (and its context) must be at most 1 GiB");
  }
  const std::string nonce = random_bytes(kNonceSize);

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(context), static_cast<int>(context.size())) != 1) {
    return internal_error("AES-256-GCM setup failed");
  }

  std::string out(kOverhead + plaintext.size(), '\0');
  out[0] = kVersion;
  out.replace(1, kNonceSize, nonce);
  unsigned char* ciphertext = bytes(out) + 1 + kNonceSize;
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), ciphertext, &len, bytes(plaintext), static_cast<int>(plaintext.size())) != 1) {
      return internal_error("AES-256-GCM encryption failed");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ciphertext + written, &len) != 1) {
    return internal_error("AES-256-GCM encryption failed");
  }
  written += len;
  if (static_cast<size_t>(written) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize), ciphertext + written) != 1) {
    return internal_error("AES-256-GCM tag computation failed");
  }
  return out;
}

Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view context) {
  ErrorQueueGuard guard;
  OTA_TRY(check_key(key));
  if (sealed.size() < kOverhead) {
    return corruption("a sealed value is " + std::to_string(sealed.size()) + " bytes, shorter than the " +
                      std::to_string(kOverhead) + " every sealed value has: it was truncated or is not a sealed value");
  }
  if (sealed[0] != kVersion) {
    return corruption("a sealed value has format version " + std::to_string(static_cast<unsigned char>(sealed[0])) +
                      ", but only version 1 is known: it was altered or written by a newer otaserver");
  }
  if (sealed.size() - kOverhead > kMaxSize || context.size() > kMaxSize) return authentication_failed();
  const std::string_view nonce = sealed.substr(1, kNonceSize);
  const std::string_view ciphertext = sealed.substr(1 + kNonceSize, sealed.size() - kOverhead);
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer; copy rather than cast constness away.
  std::string tag(sealed.substr(sealed.size() - kTagSize));

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(context), static_cast<int>(context.size())) != 1) {
    return internal_error("AES-256-GCM setup failed");
  }

  std::string plaintext(ciphertext.size(), '\0');
  // Decryption writes plaintext before the tag is checked; never let unauthenticated bytes out.
  auto discard = [&plaintext] { OPENSSL_cleanse(plaintext.data(), plaintext.size()); };
  int written = 0;
  if (!ciphertext.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), bytes(plaintext), &len, bytes(ciphertext), static_cast<int>(ciphertext.size())) !=
        1) {
      discard();
      return authentication_failed();
    }
    written = len;
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize), tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), bytes(plaintext) + written, &len) != 1) {
    discard();
    return authentication_failed();
  }
  return plaintext;
}

}  // namespace ota::crypto
