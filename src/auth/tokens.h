// Admin API tokens: random, shown once, stored only as SHA-256 hashes, compared in constant time,
// scoped, optionally bound to one app, revocable, with an optional expiry.
//
// Format: ota_<id>_<secret>, id = 12 random base64url-safe characters (public, the lookup key),
// secret = 43 characters of base64url (256 random bits). Only SHA-256(secret) is stored.
//
// Threading: functions take the database and may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::auth {

// Scopes nest: admin includes publish, publish includes read.
enum class Scope { kRead = 0, kPublish = 1, kAdmin = 2 };
std::string_view scope_name(Scope s);
std::optional<Scope> parse_scope(std::string_view s);

struct TokenInfo {
  std::string id;
  std::string name;
  Scope scope = Scope::kRead;
  std::optional<int64_t> app_id;  // bound to one app, or any app
  std::optional<std::string> app_name;
  int64_t created_at_ms = 0;
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> revoked_at_ms;
  std::optional<int64_t> last_used_at_ms;
};

struct TokenSpec {
  std::string name;                 // what it is for, e.g. "ci-publish"
  Scope scope = Scope::kRead;
  std::optional<std::string> app;   // bind to this app (must exist)
  std::optional<int64_t> expires_at_ms;
};

struct NewToken {
  TokenInfo info;
  std::string token;  // the full secret text; shown once, never stored
};

// Creates a token inside `tx` (so the audit entry commits with it).
Result<NewToken> create_token(metadata::WriteTransaction& tx, const TokenSpec& spec, int64_t now_ms);

// Checks an Authorization header value ("Bearer ota_...") or a bare token. Unknown, malformed,
// revoked and expired tokens all fail the same way (kUnauthorized, one message), so a caller
// learns nothing about which. Records last use at most once a minute.
Result<TokenInfo> verify_token(metadata::Database& db, std::string_view presented, int64_t now_ms);

// kForbidden unless `token` has at least `needed` and, when bound to an app, `app_id` is that app.
Status authorize(const TokenInfo& token, Scope needed, std::optional<int64_t> app_id);

Status revoke_token(metadata::WriteTransaction& tx, std::string_view id, int64_t now_ms);
Result<std::vector<TokenInfo>> list_tokens(metadata::Database& db);
// One token by id (kNotFound if there is none), whatever its state.
Result<TokenInfo> get_token(metadata::Database& db, std::string_view id);

// Who did something, for the audit log.
struct Actor {
  std::string id;    // token id, or "local:<command>"
  std::string peer;  // client address, or "local"
};

struct AuditEntry {
  std::string action;  // "app.create", "token.create", "update.publish", ...
  std::optional<int64_t> app_id;
  std::string target;
  std::string detail_json = "{}";
};

// Appends inside the transaction that makes the change, so the log and the change commit together.
Status audit(metadata::WriteTransaction& tx, const Actor& actor, const AuditEntry& entry, int64_t now_ms);

struct AuditRecord {
  int64_t id = 0;
  int64_t at_ms = 0;
  std::string actor;
  std::string actor_name;  // the token's name, when the actor is a token that still exists
  std::string peer;
  std::string action;
  std::optional<std::string> app;
  std::string target;
  std::string detail_json;
};

struct AuditQuery {
  std::optional<int64_t> app_id;   // only this app's entries
  std::optional<int64_t> before_id;  // page: entries older than this one
  int limit = 50;                  // 1..500
};

// Newest first.
Result<std::vector<AuditRecord>> list_audit(metadata::Database& db, const AuditQuery& query);

}  // namespace ota::auth
