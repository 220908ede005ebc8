#include "crypto/digest.h"

#include <cstdlib>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/encoding.h"

namespace ota::crypto {

std::string Sha256::hex() const { return hex_encode(view()); }
std::string Sha256::base64url() const { return base64url_encode(view()); }

std::optional<Sha256> Sha256::from_bytes(std::string_view raw) {
  if (raw.size() != 32) return std::nullopt;
  Sha256 d;
  for (size_t i = 0; i < 32; ++i) d.bytes[i] = static_cast<uint8_t>(raw[i]);
  return d;
}

std::optional<Sha256> Sha256::from_hex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto raw = hex_decode(hex);
  return raw ? from_bytes(*raw) : std::nullopt;
}

std::optional<Sha256> Sha256::from_base64url(std::string_view text) {
  if (text.size() != 43) return std::nullopt;
  auto raw = base64url_decode(text);
  return raw ? from_bytes(*raw) : std::nullopt;
}

struct Sha256Hasher::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Sha256Hasher::Sha256Hasher() : state_(std::make_unique<State>()) {
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) std::abort();
}
Sha256Hasher::~Sha256Hasher() = default;

void Sha256Hasher::update(std::string_view data) { EVP_DigestUpdate(state_->ctx, data.data(), data.size()); }

Sha256 Sha256Hasher::finish() {
  Sha256 d;
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, d.bytes.data(), &len);
  return d;
}

Sha256 sha256(std::string_view data) {
  Sha256 d;
  EVP_Digest(data.data(), data.size(), d.bytes.data(), nullptr, EVP_sha256(), nullptr);
  return d;
}

std::string md5_hex(std::string_view data) {
  unsigned char out[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out.data(), &len);
  return out;
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) std::abort();
  return out;
}

}  // namespace ota::crypto
