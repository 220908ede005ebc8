// Admin page sessions: a token is exchanged once for a random session id kept in an HttpOnly,
// SameSite=Strict cookie, so the token itself never sits in the browser's JavaScript reach.
// Only SHA-256(session id) is stored. A session acts with its token's scope and ends with it
// (expiry, revocation), at its own expiry, or at sign-out.
//
// Every change made through a session must carry its CSRF token (X-CSRF-Token), compared in
// constant time: SameSite=Strict alone does not cover same-site subdomains or older browsers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/tokens.h"
#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::auth {

struct Session {
  std::string id;  // the cookie value; known to the caller only when created
  std::string csrf_token;
  int64_t expires_at_ms = 0;
  TokenInfo token;
};

// Verifies `presented_token` and opens a session for it, ending at the earlier of now + ttl and
// the token's own expiry. Audited as "session.create". Also drops sessions that have expired.
Result<Session> create_session(metadata::Database& db, std::string_view presented_token, int64_t ttl_ms,
                               const std::string& peer, int64_t now_ms);

// The live session behind a cookie value, with its token re-checked; one kUnauthorized message
// for every failure.
Result<Session> verify_session(metadata::Database& db, std::string_view cookie_value, int64_t now_ms);

// Ends a session (sign-out). Ending an unknown session is not an error.
Status end_session(metadata::Database& db, std::string_view cookie_value);

// Constant-time comparison of a presented CSRF token against the session's.
bool csrf_matches(const Session& session, std::string_view presented);

}  // namespace ota::auth
