#include "auth/signing_keys.h"

#include <algorithm>

#include "crypto/seal.h"

namespace ota::auth {
namespace {

std::string seal_context(int64_t app_id, std::string_view keyid) {
  return "signing-key:" + std::to_string(app_id) + ":" + std::string(keyid);
}

Result<SigningKeyInfo> store(metadata::WriteTransaction& tx, int64_t app_id, std::string_view keyid,
                             const crypto::RsaPrivateKey& key, std::string_view certificate_pem,
                             std::string_view server_secret, int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT 1 FROM signing_keys WHERE app_id = ? AND keyid = ?", app_id, keyid));
  OTA_ASSIGN_OR_RETURN(bool exists, q.next());
  if (exists) {
    return conflict("this app already has a signing key \"" + std::string(keyid) +
                    "\"; choose another --keyid (clients name the key they expect in codeSigningMetadata.keyid)");
  }
  OTA_ASSIGN_OR_RETURN(auto cert, crypto::inspect_certificate(certificate_pem));
  std::string seal_key = crypto::derive_key(server_secret, "seal");
  OTA_ASSIGN_OR_RETURN(std::string sealed, crypto::seal(seal_key, key.private_pem(), seal_context(app_id, keyid)));
  OTA_TRY(tx.execute("INSERT INTO signing_keys (app_id, keyid, sealed_private_key, certificate_pem, created_at_ms) "
                     "VALUES (?, ?, ?, ?, ?)",
                     app_id, keyid, metadata::Blob{sealed}, certificate_pem, now_ms));
  return SigningKeyInfo{std::string(keyid), std::string(certificate_pem), cert.not_after_ms, now_ms};
}

}  // namespace

Status validate_keyid(std::string_view keyid) {
  bool valid = !keyid.empty() && keyid.size() <= 64 && std::all_of(keyid.begin(), keyid.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
  if (!valid) return invalid_argument("keyid must be 1-64 characters of A-Z a-z 0-9 . _ -");
  return ok();
}

Result<SigningKeyInfo> generate_signing_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view keyid,
                                            std::string_view common_name, int validity_days,
                                            std::string_view server_secret, int64_t now_ms) {
  OTA_TRY(validate_keyid(keyid));
  if (validity_days < 1 || validity_days > 36500) return invalid_argument("validity must be 1 to 36500 days");
  OTA_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::generate(2048));
  crypto::CertificateOptions options{std::string(common_name), now_ms, validity_days};
  OTA_ASSIGN_OR_RETURN(std::string cert, crypto::make_code_signing_certificate(key, options));
  return store(tx, app_id, keyid, key, cert, server_secret, now_ms);
}

Result<SigningKeyInfo> import_signing_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view keyid,
                                          std::string_view private_pem, std::string_view certificate_pem,
                                          std::string_view server_secret, int64_t now_ms) {
  OTA_TRY(validate_keyid(keyid));
  OTA_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::from_pem(private_pem));
  OTA_ASSIGN_OR_RETURN(auto cert, crypto::inspect_certificate(certificate_pem));
  if (cert.public_pem != key.public_pem()) {
    return invalid_argument("the certificate's public key does not belong to this private key");
  }
  if (!cert.digital_signature || !cert.code_signing) {
    return invalid_argument(
        "expo-updates rejects this certificate: it needs keyUsage digitalSignature and extendedKeyUsage codeSigning");
  }
  if (cert.not_after_ms <= now_ms) return invalid_argument("the certificate has expired");
  return store(tx, app_id, keyid, key, certificate_pem, server_secret, now_ms);
}

Result<std::vector<std::pair<int64_t, SigningKey>>> load_signing_keys(metadata::ReadTransaction& tx,
                                                                       std::string_view server_secret) {
  std::string seal_key = crypto::derive_key(server_secret, "seal");
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT app_id, keyid, sealed_private_key, certificate_pem, created_at_ms "
                                        "FROM signing_keys ORDER BY app_id, created_at_ms, id"));
  std::vector<std::pair<int64_t, SigningKey>> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    int64_t app_id = q.int64(0);
    std::string keyid = q.text(1);
    OTA_ASSIGN_OR_RETURN(std::string pem, crypto::unseal(seal_key, q.blob(2), seal_context(app_id, keyid))
                                              .context("signing key \"" + keyid + "\" (was secret.key replaced?)"));
    OTA_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::from_pem(pem));
    OTA_ASSIGN_OR_RETURN(auto cert, crypto::inspect_certificate(q.text(3)));
    SigningKey k{{keyid, q.text(3), cert.not_after_ms, q.int64(4)},
                 std::make_shared<const crypto::RsaPrivateKey>(std::move(key))};
    out.emplace_back(app_id, std::move(k));
  }
  return out;
}

Result<std::vector<SigningKeyInfo>> list_signing_keys(metadata::ReadTransaction& tx, int64_t app_id) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT keyid, certificate_pem, created_at_ms FROM signing_keys WHERE "
                                        "app_id = ? ORDER BY created_at_ms, id",
                                        app_id));
  std::vector<SigningKeyInfo> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    OTA_ASSIGN_OR_RETURN(auto cert, crypto::inspect_certificate(q.text(1)));
    out.push_back({q.text(0), q.text(1), cert.not_after_ms, q.int64(2)});
  }
  return out;
}

Result<PatchKey> ensure_patch_key(metadata::WriteTransaction& tx, int64_t app_id, std::string_view server_secret,
                                  int64_t now_ms) {
  std::string seal_key = crypto::derive_key(server_secret, "seal");
  std::string context = "patch-key:" + std::to_string(app_id);
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT sealed_private_key, public_key_pem FROM patch_keys WHERE app_id = ?",
                                        app_id));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (found) {
    OTA_ASSIGN_OR_RETURN(std::string pem, crypto::unseal(seal_key, q.blob(0), context)
                                              .context("patch key (was secret.key replaced?)"));
    OTA_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::from_pem(pem));
    return PatchKey{q.text(1), std::make_shared<const crypto::RsaPrivateKey>(std::move(key))};
  }
  OTA_ASSIGN_OR_RETURN(auto key, crypto::RsaPrivateKey::generate(2048));
  OTA_ASSIGN_OR_RETURN(std::string sealed, crypto::seal(seal_key, key.private_pem(), context));
  std::string public_pem = key.public_pem();
  OTA_TRY(tx.execute("INSERT INTO patch_keys (app_id, sealed_private_key, public_key_pem, created_at_ms) "
                     "VALUES (?, ?, ?, ?)",
                     app_id, metadata::Blob{sealed}, public_pem, now_ms));
  return PatchKey{public_pem, std::make_shared<const crypto::RsaPrivateKey>(std::move(key))};
}

}  // namespace ota::auth
