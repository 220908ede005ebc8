// Apps and their channels and branches: the admin use cases behind /api/v1/apps.
//
// Every mutation takes the Actor for the audit log and writes it in the same transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/signing_keys.h"
#include "auth/tokens.h"
#include "auth/url_signer.h"
#include "common/result.h"
#include "model/update.h"
#include "storage/metadata/database.h"

namespace ota::admin {

struct AppSpec {
  std::string name;
  std::string default_channel = "production";
};

// Creates the app, a branch named like the default channel, and that channel pointing at it.
// kConflict if the name is taken.
Result<model::App> create_app(metadata::Database& db, const AppSpec& spec, const auth::Actor& actor, int64_t now_ms);

Result<model::App> get_app(metadata::ReadTransaction& tx, std::string_view name);
Result<std::vector<model::App>> list_apps(metadata::Database& db);

struct AppSettings {
  std::optional<std::string> default_channel;
  std::optional<bool> asset_tokens;
  std::optional<int64_t> asset_token_ttl_s;  // 3600 .. auth::kMaxAssetTokenTtlS
  std::optional<std::string> patch_path_template;   // "" clears; placeholders {short|version} {build} {platform}
  std::optional<bool> patch_signature_line;
  std::optional<std::string> patch_revoked_answer;  // "404" or "empty"
};
Result<model::App> update_app_settings(metadata::Database& db, std::string_view name, const AppSettings& settings,
                                       const auth::Actor& actor, int64_t now_ms);

// Generates a signing key on the server (the private key never leaves it).
Result<auth::SigningKeyInfo> create_signing_key(metadata::Database& db, std::string_view app, std::string_view keyid,
                                                int validity_days, std::string_view server_secret,
                                                const auth::Actor& actor, int64_t now_ms);

}  // namespace ota::admin
