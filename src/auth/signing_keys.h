// Per-app code-signing keys (expo-updates-protocol.md §4): generated on the server or imported,
// stored with the private key sealed under secret.key, loaded for signing at render time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/rsa.h"
#include "storage/metadata/database.h"

namespace ota::auth {

struct SigningKeyInfo {
  std::string keyid;
  std::string certificate_pem;
  int64_t not_after_ms = 0;
  int64_t created_at_ms = 0;
};

struct SigningKey {
  SigningKeyInfo info;
  std::shared_ptr<const crypto::RsaPrivateKey> key;
};

// keyid: what the app's codeSigningMetadata.keyid says (default "main"); [A-Za-z0-9._-]{1,64}.
Status validate_keyid(std::string_view keyid);

// Generates an RSA-2048 key and a self-signed code-signing certificate valid for `validity_days`.
// kConflict if the app already has that keyid.
Result<SigningKeyInfo> generate_signing_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view keyid,
                                            std::string_view common_name, int validity_days,
                                            std::string_view server_secret, int64_t now_ms);

// Imports a key made elsewhere; refuses a certificate whose public key is not the key's, or that
// lacks the usages expo-updates checks.
Result<SigningKeyInfo> import_signing_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view keyid,
                                          std::string_view private_pem, std::string_view certificate_pem,
                                          std::string_view server_secret, int64_t now_ms);

// Every key of every app, unsealed, grouped by app id, in creation order.
Result<std::vector<std::pair<int64_t, SigningKey>>> load_signing_keys(metadata::ReadTransaction& tx,
                                                                       std::string_view server_secret);

Result<std::vector<SigningKeyInfo>> list_signing_keys(metadata::ReadTransaction& tx, int64_t app_id);

// The per-app key that signs native hot patches (separate from the Expo key). Created on first
// use; clients embed its public key.
struct PatchKey {
  std::string public_pem;
  std::shared_ptr<const crypto::RsaPrivateKey> key;
};

Result<PatchKey> ensure_patch_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view server_secret,
                                  int64_t now_ms);

}  // namespace ota::auth
