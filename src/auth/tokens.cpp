#include "auth/tokens.h"

#include <algorithm>

#include "common/encoding.h"
#include "common/strings.h"
#include "crypto/digest.h"

namespace ota::auth {
namespace {

constexpr std::string_view kPrefix = "ota_";
constexpr size_t kIdLength = 12;
constexpr size_t kSecretLength = 43;
constexpr std::string_view kRejected =
    "missing, invalid, expired or revoked token; send `Authorization: Bearer ota_...` with a token from "
    "`otaserver token create`";

Error unauthorized() { return Error(ErrorCode::kUnauthorized, std::string(kRejected)); }

// Parses ota_<id>_<secret>. The id alphabet excludes '_' so the split is unambiguous.
bool split_token(std::string_view text, std::string_view& id, std::string_view& secret) {
  if (!starts_with(text, kPrefix)) return false;
  text.remove_prefix(kPrefix.size());
  if (text.size() != kIdLength + 1 + kSecretLength || text[kIdLength] != '_') return false;
  id = text.substr(0, kIdLength);
  secret = text.substr(kIdLength + 1);
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return base64url_decode(secret).has_value();
}

std::string random_id() {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string raw = crypto::random_bytes(kIdLength);
  std::string id;
  for (unsigned char c : raw) id += kAlphabet[c % 62];
  return id;
}

Result<TokenInfo> read_token_row(metadata::Query& q) {
  TokenInfo t;
  t.id = q.text(0);
  t.name = q.text(1);
  auto scope = parse_scope(q.text(2));
  if (!scope) return corruption("token " + t.id + " has an unknown scope");
  t.scope = *scope;
  t.app_id = q.optional_int64(3);
  t.app_name = q.optional_text(4);
  t.created_at_ms = q.int64(5);
  t.expires_at_ms = q.optional_int64(6);
  t.revoked_at_ms = q.optional_int64(7);
  t.last_used_at_ms = q.optional_int64(8);
  return t;
}

constexpr std::string_view kSelectToken =
    "SELECT t.id, t.name, t.scope, t.app_id, a.name, t.created_at_ms, t.expires_at_ms, t.revoked_at_ms, "
    "t.last_used_at_ms, t.secret_sha256 FROM admin_tokens t LEFT JOIN apps a ON a.id = t.app_id";

}  // namespace

std::string_view scope_name(Scope s) {
  switch (s) {
    case Scope::kRead: return "read";
    case Scope::kPublish: return "publish";
    case Scope::kAdmin: return "admin";
  }
  return "read";
}

std::optional<Scope> parse_scope(std::string_view s) {
  if (s == "read") return Scope::kRead;
  if (s == "publish") return Scope::kPublish;
  if (s == "admin") return Scope::kAdmin;
  return std::nullopt;
}

Result<NewToken> create_token(metadata::WriteTransaction& tx, const TokenSpec& spec, int64_t now_ms) {
  if (spec.name.empty() || spec.name.size() > 100) {
    return invalid_argument("a token needs a name of 1 to 100 characters saying what it is for (--name)");
  }
  NewToken out;
  out.info.id = random_id();
  out.info.name = spec.name;
  out.info.scope = spec.scope;
  out.info.created_at_ms = now_ms;
  out.info.expires_at_ms = spec.expires_at_ms;
  if (spec.app) {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id FROM apps WHERE name = ?", *spec.app));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (!found) return not_found("no app named \"" + *spec.app + "\"; create it first with `otaserver app create`");
    out.info.app_id = q.int64(0);
    out.info.app_name = spec.app;
  }
  std::string secret = base64url_encode(crypto::random_bytes(32));
  out.token = std::string(kPrefix) + out.info.id + "_" + secret;
  OTA_TRY(tx.execute(
      "INSERT INTO admin_tokens (id, name, secret_sha256, scope, app_id, created_at_ms, expires_at_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      out.info.id, out.info.name, metadata::Blob{crypto::sha256(secret).view()}, scope_name(spec.scope),
      out.info.app_id, now_ms, spec.expires_at_ms));
  return out;
}

Result<TokenInfo> verify_token(metadata::Database& db, std::string_view presented, int64_t now_ms) {
  presented = trim(presented);
  if (presented.size() > 7 && iequals(presented.substr(0, 7), "Bearer ")) presented = trim(presented.substr(7));
  std::string_view id, secret;
  if (!split_token(presented, id, secret)) return unauthorized();

  std::string stored_hash;
  TokenInfo info;
  {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
    OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectToken) + " WHERE t.id = ?", id));
    OTA_ASSIGN_OR_RETURN(bool found, q.next());
    if (!found) {
      // Compare against a dummy anyway so unknown ids cost the same as wrong secrets.
      (void)crypto::constant_time_equals(crypto::sha256(secret).view(), crypto::sha256("").view());
      return unauthorized();
    }
    OTA_ASSIGN_OR_RETURN(info, read_token_row(q));
    stored_hash = q.blob(9);
  }
  bool match = crypto::constant_time_equals(crypto::sha256(secret).view(), stored_hash);
  bool expired = info.expires_at_ms && *info.expires_at_ms <= now_ms;
  if (!match || info.revoked_at_ms || expired) return unauthorized();

  if (!info.last_used_at_ms || now_ms - *info.last_used_at_ms > 60'000) {
    // Best effort: a busy writer must not fail an otherwise valid request.
    if (auto tx = db.begin_write()) {
      if (tx->execute("UPDATE admin_tokens SET last_used_at_ms = ? WHERE id = ?", now_ms, info.id)) {
        (void)tx->commit();
      }
    }
  }
  return info;
}

Status authorize(const TokenInfo& token, Scope needed, std::optional<int64_t> app_id) {
  if (static_cast<int>(token.scope) < static_cast<int>(needed)) {
    return Error(ErrorCode::kForbidden, "this token has scope \"" + std::string(scope_name(token.scope)) +
                                            "\"; this action needs \"" + std::string(scope_name(needed)) + "\"");
  }
  if (token.app_id && (!app_id || *app_id != *token.app_id)) {
    return Error(ErrorCode::kForbidden,
                 "this token is bound to app \"" + token.app_name.value_or("?") + "\" and cannot act on another");
  }
  return ok();
}

Status revoke_token(metadata::WriteTransaction& tx, std::string_view id, int64_t now_ms) {
  OTA_ASSIGN_OR_RETURN(int64_t changed,
                       tx.execute("UPDATE admin_tokens SET revoked_at_ms = coalesce(revoked_at_ms, ?) WHERE id = ?",
                                  now_ms, id));
  if (changed == 0) return not_found("no token with id \"" + std::string(id) + "\"");
  return ok();
}

Result<std::vector<TokenInfo>> list_tokens(metadata::Database& db) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectToken) + " ORDER BY t.created_at_ms"));
  std::vector<TokenInfo> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    OTA_ASSIGN_OR_RETURN(auto t, read_token_row(q));
    out.push_back(std::move(t));
  }
  return out;
}

Result<TokenInfo> get_token(metadata::Database& db, std::string_view id) {
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(auto q, tx.query(std::string(kSelectToken) + " WHERE t.id = ?", id));
  OTA_ASSIGN_OR_RETURN(bool found, q.next());
  if (!found) return not_found("no token with id \"" + std::string(id) + "\"");
  return read_token_row(q);
}

Status audit(metadata::WriteTransaction& tx, const Actor& actor, const AuditEntry& entry, int64_t now_ms) {
  OTA_TRY(tx.execute(
      "INSERT INTO audit_log (at_ms, actor, peer, action, app_id, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
      now_ms, actor.id, actor.peer, entry.action, entry.app_id, entry.target, entry.detail_json));
  return ok();
}

Result<std::vector<AuditRecord>> list_audit(metadata::Database& db, const AuditQuery& query) {
  int limit = std::clamp(query.limit, 1, 500);
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());
  OTA_ASSIGN_OR_RETURN(
      auto q, tx.query("SELECT l.id, l.at_ms, l.actor, coalesce(t.name, ''), l.peer, l.action, a.name, "
                       "coalesce(l.target, ''), l.detail FROM audit_log l "
                       "LEFT JOIN apps a ON a.id = l.app_id LEFT JOIN admin_tokens t ON t.id = l.actor "
                       "WHERE (?1 IS NULL OR l.app_id = ?1) AND (?2 IS NULL OR l.id < ?2) "
                       "ORDER BY l.id DESC LIMIT ?3",
                       query.app_id, query.before_id, static_cast<int64_t>(limit)));
  std::vector<AuditRecord> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    out.push_back({q.int64(0), q.int64(1), q.text(2), q.text(3), q.text(4), q.text(5), q.optional_text(6), q.text(7),
                   q.text(8)});
  }
  return out;
}

}  // namespace ota::auth
