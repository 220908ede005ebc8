#include "auth/url_signer.h"

#include "common/encoding.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "crypto/seal.h"

namespace ota::auth {
namespace {

std::string seal_context(std::string_view kid) { return "url-key:" + std::string(kid); }

std::string mac(std::string_view key, std::string_view kid, std::string_view app, std::string_view asset,
                std::string_view exp) {
  std::string message = "v1\n";
  message.append(kid).append("\n").append(app).append("\n").append(asset).append("\n").append(exp);
  auto m = crypto::hmac_sha256(key, message);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()));
}

Error forbidden(std::string message) { return Error(ErrorCode::kForbidden, std::move(message)); }

Result<std::string> insert_key(metadata::WriteTransaction& tx, std::string_view server_secret, int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT count(*) FROM url_keys"));
  OTA_ASSIGN_OR_RETURN(bool row, q.next());
  int64_t n = row ? q.int64(0) : 0;
  std::string kid = "k" + std::to_string(n + 1);
  std::string seal_key = crypto::derive_key(server_secret, "seal");
  OTA_ASSIGN_OR_RETURN(std::string sealed, crypto::seal(seal_key, crypto::random_bytes(32), seal_context(kid)));
  OTA_TRY(tx.execute("INSERT INTO url_keys (kid, sealed_key, created_at_ms) VALUES (?, ?, ?)", kid,
                     metadata::Blob{sealed}, now_ms));
  return kid;
}

}  // namespace

Result<UrlSigner> UrlSigner::load(metadata::Database& db, std::string_view server_secret, int64_t now_ms) {
  {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT count(*) FROM url_keys"));
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row || q.int64(0) == 0) {
      OTA_TRY(insert_key(tx, server_secret, now_ms));
      OTA_TRY(tx.commit());
    }
  }
  UrlSigner signer;
  std::string seal_key = crypto::derive_key(server_secret, "seal");
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT kid, sealed_key, retired_at_ms FROM url_keys ORDER BY created_at_ms, "
                                        "rowid"));
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    std::string kid = q.text(0);
    auto retired = q.optional_int64(2);
    if (retired && *retired <= now_ms) continue;
    OTA_ASSIGN_OR_RETURN(std::string key, crypto::unseal(seal_key, q.blob(1), seal_context(kid))
                                              .context("URL key " + kid + " (was secret.key replaced?)"));
    if (!retired) signer.current_kid_ = kid;
    signer.keys_[kid] = std::move(key);
  }
  if (signer.current_kid_.empty()) return internal_error("no active URL signing key; rotate to create one");
  return signer;
}

std::string UrlSigner::issue(std::string_view app, std::string_view asset_hash, int64_t expires_s) const {
  std::string exp = std::to_string(expires_s);
  return "v1." + current_kid_ + "." + exp + "." + mac(keys_.at(current_kid_), current_kid_, app, asset_hash, exp);
}

Status UrlSigner::verify(std::string_view token, std::string_view app, std::string_view asset_hash,
                         int64_t now_ms) const {
  auto parts = split(token, '.');
  if (token.size() > 200 || parts.size() != 4 || parts[0] != "v1" || parts[2].size() > 10 || parts[3].size() != 43) {
    return forbidden("malformed asset token; fetch the manifest again for fresh asset headers");
  }
  auto exp = parse_uint(parts[2]);
  if (!exp) return forbidden("malformed asset token expiry; fetch the manifest again");
  int64_t now_s = now_ms / 1000;
  if (static_cast<int64_t>(*exp) <= now_s) return forbidden("asset token expired; fetch the manifest again");
  if (static_cast<int64_t>(*exp) > now_s + kMaxAssetTokenTtlS + 3600) {
    return forbidden("asset token expiry is further ahead than any token this server issues");
  }
  auto key = keys_.find(parts[1]);
  if (key == keys_.end()) return forbidden("asset token signed with an unknown or retired key; fetch the manifest again");
  std::string expected = mac(key->second, parts[1], app, asset_hash, parts[2]);
  if (!crypto::constant_time_equals(expected, parts[3])) {
    return forbidden("asset token does not match this app and asset");
  }
  return ok();
}

Result<std::string> rotate_url_key(metadata::WriteTransaction& tx, std::string_view server_secret, int64_t now_ms,
                                   int64_t retire_after_ms) {
  OTA_TRY(tx.execute("UPDATE url_keys SET retired_at_ms = ? WHERE retired_at_ms IS NULL", now_ms + retire_after_ms));
  return insert_key(tx, server_secret, now_ms);
}

}  // namespace ota::auth
