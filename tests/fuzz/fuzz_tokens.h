// Admin tokens with fixed ids and secrets for admin_token_fuzz and session_fuzz, inserted
// straight into admin_tokens (create_token draws random ones), so the seeds hold real tokens that
// verify in every run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "crypto/digest.h"
#include "fuzz_db.h"

namespace ota::fuzz {

struct FixedToken {
  std::string id;
  std::string secret;  // base64url of 32 fixed bytes
  std::string scope;
  std::optional<int64_t> app_id;
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> revoked_at_ms;
  bool valid = false;  // verifies at kNowMs
  std::string text() const { return "ota_" + id + "_" + secret; }
};

inline const std::vector<FixedToken>& fixed_tokens() {
  static const std::vector<FixedToken> tokens = {
      {"fuzzAdmin001", base64url_encode("admin token secret: 32 bytes...."), "admin", std::nullopt, std::nullopt,
       std::nullopt, true},
      {"fuzzBound002", base64url_encode("bound publish token, 1h left...."), "publish", 1, kNowMs + 3'600'000,
       std::nullopt, true},
      {"fuzzRevoke03", base64url_encode("revoked read token secret bytes."), "read", std::nullopt, std::nullopt,
       kNowMs - 1000, false},
      {"fuzzExpire04", base64url_encode("expired admin token secret bytes"), "admin", std::nullopt, kNowMs,
       std::nullopt, false},
  };
  return tokens;
}

// An app (id 1) and the fixed tokens.
inline void insert_fixed_tokens(metadata::Database& db) {
  auto tx = db.begin_write();
  must(tx, "begin");
  must(tx->execute("INSERT INTO apps (name, created_at_ms) VALUES ('app', 0)"), "insert app");
  for (const FixedToken& t : fixed_tokens()) {
    must(tx->execute("INSERT INTO admin_tokens (id, name, secret_sha256, scope, app_id, created_at_ms, expires_at_ms, "
                     "revoked_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     t.id, "fuzz " + t.id, metadata::Blob{crypto::sha256(t.secret).view()}, t.scope, t.app_id,
                     int64_t{0}, t.expires_at_ms, t.revoked_at_ms),
         "insert token");
  }
  must(tx->commit(), "commit");
}

}  // namespace ota::fuzz
