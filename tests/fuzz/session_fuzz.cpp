// Admin page sessions (verify_session and csrf_matches in auth/sessions.cpp): the session cookie's
// value and the X-CSRF-Token header. Input: the cookie value on the first line, the CSRF header
// after it. Fixed sessions are stored: a live one, an expired one, and live ones whose token was
// revoked or has expired. Properties:
//   - a cookie that verifies is the live session's id exactly, and the answer carries that
//     session's CSRF token and its (valid) admin token;
//   - every refusal is kUnauthorized;
//   - csrf_matches accepts exactly the session's CSRF token.

#include <memory>
#include <string>

#include "auth/sessions.h"
#include "fuzz_tokens.h"

namespace {

using ota::fuzz::kNowMs;

struct FixedSession {
  std::string id;  // the cookie value: base64url of 32 fixed bytes
  std::string csrf;
  size_t token;  // index into fixed_tokens()
  int64_t expires_at_ms;
  bool valid;
};

const std::vector<FixedSession>& sessions() {
  static const std::vector<FixedSession> s = {
      {ota::base64url_encode("live session id, 32 bytes long.."),
       ota::base64url_encode("csrf token of the live session.."), 0, kNowMs + 3'600'000, true},
      {ota::base64url_encode("expired session id, 32 bytes...."),
       ota::base64url_encode("csrf of the expired session....."), 0, kNowMs, false},
      {ota::base64url_encode("session of a revoked token......"),
       ota::base64url_encode("csrf of the revoked session....."), 2, kNowMs + 3'600'000, false},
      {ota::base64url_encode("session of an expired token....."),
       ota::base64url_encode("csrf of the token-expired one..."), 3, kNowMs + 3'600'000, false},
  };
  return s;
}

std::unique_ptr<ota::metadata::Database> g_db;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_db = ota::fuzz::open_db(ota::fuzz::make_temp_dir());
  ota::fuzz::insert_fixed_tokens(*g_db);
  auto tx = g_db->begin_write();
  ota::fuzz::must(tx, "begin");
  for (const auto& s : sessions()) {
    ota::fuzz::must(
        tx->execute("INSERT INTO admin_sessions (id_sha256, token_id, csrf_token, created_at_ms, expires_at_ms, peer) "
                    "VALUES (?, ?, ?, ?, ?, 'fuzz')",
                    ota::metadata::Blob{ota::crypto::sha256(s.id).view()}, ota::fuzz::fixed_tokens()[s.token].id,
                    s.csrf, int64_t{0}, s.expires_at_ms),
        "insert session");
  }
  ota::fuzz::must(tx->commit(), "commit");
  for (const auto& s : sessions()) FUZZ_CHECK(ota::auth::verify_session(*g_db, s.id, kNowMs).has_value() == s.valid);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  auto session = ota::auth::verify_session(*g_db, f[0], kNowMs);
  if (!session) {
    FUZZ_CHECK(session.error().code() == ota::ErrorCode::kUnauthorized);
    return 0;
  }
  const FixedSession& live = sessions()[0];
  FUZZ_CHECK(f[0] == live.id);
  FUZZ_CHECK(session->csrf_token == live.csrf && session->expires_at_ms == live.expires_at_ms);
  FUZZ_CHECK(session->token.id == ota::fuzz::fixed_tokens()[live.token].id);
  FUZZ_CHECK(ota::auth::csrf_matches(*session, f[1]) == (f[1] == live.csrf));
  FUZZ_CHECK(ota::auth::csrf_matches(*session, live.csrf));
  return 0;
}
