// HMAC tokens that grant download of one asset of one app until an expiry
// (docs/reliability.md §4.4). Token: "v1.<kid>.<exp>.<mac>", where exp is Unix seconds and
// mac = base64url(HMAC-SHA256(key[kid], "v1\n<kid>\n<app>\n<asset hash>\n<exp>")), all 32 bytes.
//
// Keys live in url_keys (sealed under secret.key). The newest key signs; older keys keep
// verifying until retired, so a rotation never breaks a token inside its lifetime.
//
// Threading: a UrlSigner is immutable; share it through a shared_ptr and swap it on rotation.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::auth {

// Tokens never live longer than this, whatever an app's TTL says.
constexpr int64_t kMaxAssetTokenTtlS = 7 * 24 * 3600;

class UrlSigner {
 public:
  // Loads every usable key; creates the first one if there is none.
  static Result<UrlSigner> load(metadata::Database& db, std::string_view server_secret, int64_t now_ms);

  // A token for `asset_hash` (base64url SHA-256) of `app`, valid until `expires_s`.
  std::string issue(std::string_view app, std::string_view asset_hash, int64_t expires_s) const;

  // kForbidden with a message that says what is wrong: malformed, expired, too far in the future,
  // unknown or retired key, or a signature that does not match this app and asset.
  Status verify(std::string_view token, std::string_view app, std::string_view asset_hash, int64_t now_ms) const;

  const std::string& current_kid() const { return current_kid_; }

 private:
  std::map<std::string, std::string, std::less<>> keys_;  // kid -> 32-byte key
  std::string current_kid_;
};

// Adds a new signing key and retires every older one `retire_after_ms` from now (at least the
// longest token lifetime). Returns the new kid.
Result<std::string> rotate_url_key(metadata::WriteTransaction& tx, std::string_view server_secret, int64_t now_ms,
                                   int64_t retire_after_ms);

}  // namespace ota::auth
