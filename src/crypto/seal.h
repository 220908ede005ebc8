// Authenticated encryption (AES-256-GCM) of small secrets at rest, such as signing keys stored in
// metadata.db, under a key derived from the data directory's secret.key: a copy of the database
// alone does not reveal them.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::crypto {

// HMAC-SHA256(secret, "otaserver/" + purpose): a 32-byte key for one purpose, so keys for
// different uses (sealing, URL tokens, download links) are independent.
std::string derive_key(std::string_view secret, std::string_view purpose);

// Returns version byte || 12-byte random nonce || ciphertext || 16-byte tag. `context` is
// authenticated but not stored (e.g. "signing-key:<app>:<keyid>"), so a sealed value cannot be
// moved to another row. `key` must be 32 bytes.
Result<std::string> seal(std::string_view key, std::string_view plaintext, std::string_view context);

// Inverse of seal(). kCorruption if the value was altered, the key is wrong or the context differs.
Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view context);

}  // namespace ota::crypto
