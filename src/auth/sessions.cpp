#include "auth/sessions.h"

#include "common/encoding.h"
#include "crypto/digest.h"

namespace ota::auth {
namespace {

constexpr size_t kSessionIdLength = 43;  // base64url of 32 random bytes

Error unauthorized() {
  return Error(ErrorCode::kUnauthorized,
               "not signed in, or the session has expired; sign in again with an admin token");
}

}  // namespace

Result<Session> create_session(metadata::Database& db, std::string_view presented_token, int64_t ttl_ms,
                               const std::string& peer, int64_t now_ms) {
  auto verified = verify_token(db, presented_token, now_ms);
  if (!verified) {
    if (verified.error().code() != ErrorCode::kUnauthorized) return verified.error();
    return Error(ErrorCode::kUnauthorized,
                 "sign-in refused: the token is unknown, revoked or expired; create one "
                 "with `otaserver token create --scope admin` (or read) on the server");
  }
  TokenInfo token = std::move(*verified);
  Session s;
  s.id = base64url_encode(crypto::random_bytes(32));
  s.csrf_token = base64url_encode(crypto::random_bytes(32));
  s.expires_at_ms = now_ms + ttl_ms;
  if (token.expires_at_ms && *token.expires_at_ms < s.expires_at_ms) s.expires_at_ms = *token.expires_at_ms;
  s.token = std::move(token);

  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_TRY(tx.execute("DELETE FROM admin_sessions WHERE expires_at_ms <= ?", now_ms));
  OTA_TRY(
      tx.execute("INSERT INTO admin_sessions (id_sha256, token_id, csrf_token, created_at_ms, expires_at_ms, peer) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 metadata::Blob{crypto::sha256(s.id).view()}, s.token.id, s.csrf_token, now_ms, s.expires_at_ms, peer));
  OTA_TRY(audit(tx, {s.token.id, peer}, {"session.create", s.token.app_id, s.token.id, "{}"}, now_ms));
  OTA_TRY(tx.commit());
  return s;
}

Result<Session> verify_session(metadata::Database& db, std::string_view cookie_value, int64_t now_ms) {
  if (cookie_value.size() != kSessionIdLength || !base64url_decode(cookie_value)) return unauthorized();
  Session s;
  std::string token_id;
  {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT token_id, csrf_token, expires_at_ms FROM admin_sessions "
                                          "WHERE id_sha256 = ?",
                                          metadata::Blob{crypto::sha256(cookie_value).view()}));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (!found) return unauthorized();
    token_id = q.text(0);
    s.csrf_token = q.text(1);
    s.expires_at_ms = q.int64(2);
  }
  if (s.expires_at_ms <= now_ms) return unauthorized();
  // The token decides: revoked or expired tokens end their sessions at once.
  auto token = get_token(db, token_id);
  if (!token) return token.error().code() == ErrorCode::kNotFound ? unauthorized() : token.error();
  if (token->revoked_at_ms || (token->expires_at_ms && *token->expires_at_ms <= now_ms)) return unauthorized();
  s.token = std::move(*token);
  return s;
}

Status end_session(metadata::Database& db, std::string_view cookie_value) {
  if (cookie_value.empty()) return ok();
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
  OTA_TRY(tx.execute("DELETE FROM admin_sessions WHERE id_sha256 = ?",
                     metadata::Blob{crypto::sha256(cookie_value).view()}));
  return tx.commit();
}

bool csrf_matches(const Session& session, std::string_view presented) {
  if (presented.size() != session.csrf_token.size()) return false;
  return crypto::constant_time_equals(presented, session.csrf_token);
}

}  // namespace ota::auth
