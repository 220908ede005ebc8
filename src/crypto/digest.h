// Hashes and MACs. The only module that includes OpenSSL headers.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ota::crypto {

// A SHA-256 digest: the identity of every blob.
struct Sha256 {
  std::array<uint8_t, 32> bytes{};

  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  std::string hex() const;
  std::string base64url() const;  // 43 characters, what expo manifests call `hash`
  // Accepts exactly 32 raw bytes.
  static std::optional<Sha256> from_bytes(std::string_view raw);
  static std::optional<Sha256> from_hex(std::string_view hex);
  static std::optional<Sha256> from_base64url(std::string_view text);

  friend bool operator==(const Sha256&, const Sha256&) = default;
  friend auto operator<=>(const Sha256&, const Sha256&) = default;
};

Sha256 sha256(std::string_view data);

// Incremental SHA-256 for data that arrives in pieces (uploads).
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;
  void update(std::string_view data);
  Sha256 finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Lower-case hex MD5: expo's asset `key`. Not used for anything that needs collision resistance.
std::string md5_hex(std::string_view data);

std::array<uint8_t, 32> hmac_sha256(std::string_view key, std::string_view message);

// Compares in time that depends only on the lengths.
bool constant_time_equals(std::string_view a, std::string_view b);

// Cryptographically secure random bytes; aborts if the system has no entropy source.
std::string random_bytes(size_t n);

}  // namespace ota::crypto
