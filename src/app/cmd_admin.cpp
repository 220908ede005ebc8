// `otaserver token ...`, `otaserver app ...`, `otaserver keys ...`.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli_support.h"
#include "app/commands.h"
#include "app/data_dir.h"
#include "auth/tokens.h"
#include "publish/fsck.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/strings.h"
#include "storage/metadata/migrations.h"

namespace ota::app {
namespace {

using config::Setting;
using config::Type;
using nlohmann::json;

constexpr Setting kTokenSettings[] = {
    {"data", Type::kPath, "./data", "the server's data directory (this command works while the server runs)"},
    {"name", Type::kString, "", "what the token is for, e.g. ci-publish"},
    {"scope", Type::kChoice, "publish", "what it may do", 0, 0, "read|publish|admin"},
    {"app", Type::kString, "", "limit the token to this app"},
    {"expires_days", Type::kUInt, "0", "days until it expires (0 = never)", 0, 36500},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

constexpr Setting kAppSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "admin API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"default_channel", Type::kString, "production", "channel for devices that send no expo-channel-name"},
    {"asset_tokens", Type::kString, "", "with `app set`: true to require signed, expiring asset tokens"},
    {"patch_path_template", Type::kString, "", "with `app set`: extra patch URL, e.g. /rc/{short}/{build}.config"},
    {"patch_signature_line", Type::kString, "", "with `app set`: true to put the signature in the patch's first line"},
    {"patch_revoked_answer", Type::kString, "", "with `app set`: 404 or empty (a revoked patch answers an empty 200)"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

constexpr Setting kKeysSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "admin API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"app", Type::kString, "", "the app the key signs for"},
    {"keyid", Type::kString, "main", "key id; must equal updates.codeSigningMetadata.keyid in app.json"},
    {"validity_days", Type::kUInt, "3650", "certificate validity", 1, 36500},
    {"out", Type::kPath, "certs/certificate.pem", "where to write the certificate to embed in the app"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

// Opens metadata.db of a data dir without taking the server's lock: SQLite in WAL mode allows
// this alongside a running server, and RocksDB is not touched.
Result<std::unique_ptr<metadata::Database>> open_metadata(const std::filesystem::path& data) {
  DataDirPaths paths{data};
  if (!std::filesystem::exists(paths.metadata())) {
    return not_found("no otaserver data directory at " + data.string() + " (start the server once with `otaserver "
                     "serve --data " + data.string() + "` to create it)");
  }
  metadata::DatabaseOptions o;
  o.path = paths.metadata();
  o.read_connections = 1;
  OTA_ASSIGN_OR_RETURN(auto db, metadata::Database::open(o));
  OTA_TRY(metadata::migrate(*db));
  return db;
}

std::string token_help() {
  return "usage: otaserver token create --data DIR --name NAME [--scope read|publish|admin] [--app APP]\n"
         "                              [--expires-days N]\n"
         "       otaserver token list --data DIR\n"
         "       otaserver token revoke ID --data DIR\n"
         "\n"
         "Admin API tokens. `create` prints the token once; only its hash is stored. Works on the server's\n"
         "machine while the server runs. Scopes nest: admin > publish > read. A fresh install has no tokens.\n"
         "\nFlags:\n" +
         config::describe_flags(kTokenSettings) +
         "\nExample:\n  export OTA_TOKEN=$(otaserver token create --data /var/lib/otaserver --name ci --scope publish)\n";
}

int run_token(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("token", kTokenSettings, args, token_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  const auto& pos = loaded->parsed.positional;
  if (pos.empty()) return fail("token", invalid_argument("say what to do: create, list or revoke (see --help)"));
  auto db = open_metadata(cfg.str("data"));
  if (!db) return fail("token", db.error());
  SystemClock clock;
  int64_t now = clock.now_ms();
  auth::Actor actor{"local:token", "local"};

  if (pos[0] == "create") {
    auth::TokenSpec spec;
    spec.name = cfg.str("name");
    spec.scope = *auth::parse_scope(cfg.str("scope"));
    if (!cfg.str("app").empty()) spec.app = cfg.str("app");
    if (cfg.uint("expires_days") > 0) spec.expires_at_ms = now + static_cast<int64_t>(cfg.uint("expires_days")) * 86400000;
    auto tx = (*db)->begin_write();
    if (!tx) return fail("token", tx.error());
    auto created = auth::create_token(*tx, spec, now);
    if (!created) return fail("token", created.error());
    json detail = {{"name", spec.name}, {"scope", cfg.str("scope")}};
    if (auto st = auth::audit(*tx, actor, {"token.create", created->info.app_id, created->info.id, detail.dump()}, now);
        !st) {
      return fail("token", st.error());
    }
    if (auto st = tx->commit(); !st) return fail("token", st.error());
    std::printf("%s\n", created->token.c_str());
    std::fprintf(stderr, "created token %s (scope %s%s); it is shown only this once\n", created->info.id.c_str(),
                 cfg.str("scope").c_str(), spec.app ? (", app " + *spec.app).c_str() : "");
    return kExitOk;
  }
  if (pos[0] == "list") {
    auto tokens = auth::list_tokens(**db);
    if (!tokens) return fail("token", tokens.error());
    std::printf("%-14s %-8s %-16s %-24s %s\n", "ID", "SCOPE", "APP", "CREATED", "NAME");
    for (const auto& t : *tokens) {
      std::string state = t.revoked_at_ms ? " (revoked)" : (t.expires_at_ms && *t.expires_at_ms <= now ? " (expired)" : "");
      std::printf("%-14s %-8s %-16s %-24s %s%s\n", t.id.c_str(), std::string(auth::scope_name(t.scope)).c_str(),
                  t.app_name.value_or("*").c_str(), format_iso8601_ms(t.created_at_ms).c_str(), t.name.c_str(),
                  state.c_str());
    }
    return kExitOk;
  }
  if (pos[0] == "revoke") {
    if (pos.size() < 2) return fail("token", invalid_argument("usage: otaserver token revoke ID --data DIR"));
    auto tx = (*db)->begin_write();
    if (!tx) return fail("token", tx.error());
    if (auto st = auth::revoke_token(*tx, pos[1], now); !st) return fail("token", st.error());
    if (auto st = auth::audit(*tx, actor, {"token.revoke", std::nullopt, pos[1], "{}"}, now); !st) {
      return fail("token", st.error());
    }
    if (auto st = tx->commit(); !st) return fail("token", st.error());
    std::fprintf(stderr, "revoked token %s\n", pos[1].c_str());
    return kExitOk;
  }
  return fail("token", invalid_argument("unknown action \"" + pos[0] + "\"; use create, list or revoke"));
}

std::string app_help() {
  return "usage: otaserver app create NAME [--default-channel production] --server URL --token T\n"
         "       otaserver app list --server URL --token T\n"
         "       otaserver app set NAME [--asset-tokens true|false] [--default-channel C] --server URL --token T\n"
         "\n"
         "Apps served by otaserver. Devices use the app's manifest URL, {server}/apps/NAME/manifest, as\n"
         "updates.url in app.json.\n"
         "\nFlags:\n" +
         config::describe_flags(kAppSettings);
}

int run_app(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("app", kAppSettings, args, app_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  const auto& pos = loaded->parsed.positional;
  if (pos.empty()) return fail("app", invalid_argument("say what to do: create, list or set (see --help)"));
  auto client = connect_from(cfg);
  if (!client) return fail("app", client.error());
  if (pos[0] == "create") {
    if (pos.size() < 2) return fail("app", invalid_argument("usage: otaserver app create NAME"));
    json body = {{"name", pos[1]}, {"default_channel", cfg.str("default_channel")}};
    auto r = client->post_json("/api/v1/apps", body.dump());
    if (!r) return fail("app", r.error());
    std::printf("created app %s\nmanifest URL (app.json updates.url): %s/apps/%s/manifest\n", pos[1].c_str(),
                cfg.str("server").c_str(), pos[1].c_str());
    return kExitOk;
  }
  if (pos[0] == "list") {
    auto r = client->get("/api/v1/apps");
    if (!r) return fail("app", r.error());
    const json answer = json::parse(r->body);
    for (const auto& a : answer["apps"]) {
      std::printf("%s\tdefault channel %s%s\n", a["name"].get<std::string>().c_str(),
                  a["default_channel"].get<std::string>().c_str(), a["asset_tokens"].get<bool>() ? "\tasset tokens" : "");
    }
    return kExitOk;
  }
  if (pos[0] == "set") {
    if (pos.size() < 2) return fail("app", invalid_argument("usage: otaserver app set NAME [--asset-tokens true]"));
    json body = json::object();
    if (cfg.value("default_channel").origin != config::Origin::kDefault) body["default_channel"] = cfg.str("default_channel");
    if (!cfg.str("patch_path_template").empty()) body["patch_path_template"] = cfg.str("patch_path_template");
    if (!cfg.str("patch_signature_line").empty()) body["patch_signature_line"] = cfg.str("patch_signature_line") == "true";
    if (!cfg.str("patch_revoked_answer").empty()) body["patch_revoked_answer"] = cfg.str("patch_revoked_answer");
    const std::string& tokens = cfg.str("asset_tokens");
    if (tokens == "true" || tokens == "false") body["asset_tokens"] = tokens == "true";
    else if (!tokens.empty()) return fail("app", invalid_argument("--asset-tokens takes true or false"));
    auto r = client->patch_json("/api/v1/apps/" + pos[1], body.dump());
    if (!r) return fail("app", r.error());
    std::printf("%s\n", r->body.c_str());
    return kExitOk;
  }
  return fail("app", invalid_argument("unknown action \"" + pos[0] + "\"; use create, list or set"));
}

std::string keys_help() {
  return "usage: otaserver keys generate --app APP [--keyid main] [--validity-days 3650] [--out FILE]\n"
         "                               --server URL --token T\n"
         "       otaserver keys rotate-url-key --server URL --token T\n"
         "       otaserver keys export-public --app APP [--out FILE] --server URL --token T\n"
         "\n"
         "Code signing for expo-updates. `generate` makes an RSA-2048 key on the server (the private key\n"
         "never leaves it) and a self-signed certificate with the code-signing usages expo-updates checks;\n"
         "it writes the certificate to --out and prints the app.json settings that go with it.\n"
         "`export-public` prints the public key (PEM) that verifies the app's native hot patches; embed it\n"
         "in the client. The patch key is made on first use and is separate from the Expo signing key.\n"
         "`rotate-url-key` starts signing asset tokens with a new key; tokens from older keys stay valid\n"
         "for their whole lifetime (at most 7 days), so no device loses a download.\n"
         "\nFlags:\n" +
         config::describe_flags(kKeysSettings);
}

int run_keys(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("keys", kKeysSettings, args, keys_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  const auto& pos = loaded->parsed.positional;
  if (!pos.empty() && pos[0] == "export-public") {
    if (cfg.str("app").empty()) return fail("keys", invalid_argument("--app is required"));
    auto client = connect_from(cfg);
    if (!client) return fail("keys", client.error());
    auto r = client->get("/api/v1/apps/" + cfg.str("app") + "/patch-key");
    if (!r) return fail("keys", r.error());
    std::string pem = json::parse(r->body)["public_key_pem"];
    if (cfg.value("out").origin == config::Origin::kDefault) {
      std::fputs(pem.c_str(), stdout);
    } else if (auto st = write_file_atomic(cfg.str("out"), pem, 0644); !st) {
      return fail("keys", st.error());
    } else {
      std::fprintf(stderr, "wrote the patch public key to %s\n", cfg.str("out").c_str());
    }
    return kExitOk;
  }
  if (!pos.empty() && pos[0] == "rotate-url-key") {
    auto client = connect_from(cfg);
    if (!client) return fail("keys", client.error());
    auto r = client->post_json("/api/v1/url-keys/rotate", "{}");
    if (!r) return fail("keys", r.error());
    std::printf("new asset-token key %s; tokens signed with older keys stay valid for 7 days\n",
                json::parse(r->body)["kid"].get<std::string>().c_str());
    return kExitOk;
  }
  if (pos.empty() || pos[0] != "generate") return fail("keys", invalid_argument("usage: otaserver keys generate --app APP"));
  if (cfg.str("app").empty()) return fail("keys", invalid_argument("--app is required"));
  auto client = connect_from(cfg);
  if (!client) return fail("keys", client.error());
  json body = {{"keyid", cfg.str("keyid")}, {"validity_days", cfg.uint("validity_days")}};
  auto r = client->post_json("/api/v1/apps/" + cfg.str("app") + "/keys", body.dump());
  if (!r) return fail("keys", r.error());
  json key = json::parse(r->body);
  std::filesystem::path out = cfg.str("out");
  if (out.has_parent_path()) {
    if (auto st = ensure_dir(out.parent_path(), 0755); !st) return fail("keys", st.error());
  }
  if (auto st = write_file_atomic(out, key["certificate_pem"].get<std::string>(), 0644); !st) {
    return fail("keys", st.error());
  }
  json snippet = {{"expo",
                   {{"updates",
                     {{"url", cfg.str("server") + "/apps/" + cfg.str("app") + "/manifest"},
                      {"codeSigningCertificate", "./" + out.string()},
                      {"codeSigningMetadata", {{"keyid", cfg.str("keyid")}, {"alg", "rsa-v1_5-sha256"}}}}}}}};
  std::printf("wrote the certificate to %s; add this to app.json:\n%s\n", out.c_str(), snippet.dump(2).c_str());
  return kExitOk;
}

constexpr Setting kGcSettings[] = {
    {"server", Type::kUrl, "http://127.0.0.1:8080", "the otaserver to talk to"},
    {"token", Type::kString, "", "admin API token (ota_...); prefer OTA_TOKEN over the flag, which shows in `ps`"},
    {"dry_run", Type::kBool, "false", "report what would be removed; change nothing"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

std::string gc_help() {
  return "usage: otaserver gc [--dry-run] --server URL --token T\n"
         "\n"
         "Prunes update history beyond each app's retention (newest retain_updates per branch, runtime\n"
         "version and platform, plus everything a device can still be served) and deletes files no update\n"
         "references. Files uploaded within gc_grace_s are kept, so a publish in progress never loses them.\n"
         "The server also does this every gc_interval_s. Runs through the server's API, since only the\n"
         "server may open its blob store.\n"
         "\nFlags:\n" +
         config::describe_flags(kGcSettings);
}

int run_gc(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("gc", kGcSettings, args, gc_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  auto client = connect_from(cfg);
  if (!client) return fail("gc", client.error());
  auto r = client->post_json("/api/v1/gc", json{{"dry_run", cfg.flag("dry_run")}}.dump());
  if (!r) return fail("gc", r.error());
  json j = json::parse(r->body);
  std::printf("%s%d update groups pruned, %d files removed (%s); blob store %s -> %s%s\n",
              cfg.flag("dry_run") ? "dry run: " : "", j["groups_pruned"].get<int>(), j["blobs_removed"].get<int>(),
              format_bytes(j["bytes_removed"].get<uint64_t>()).c_str(),
              format_bytes(j["blob_bytes_before"].get<uint64_t>()).c_str(),
              format_bytes(j["blob_bytes_after"].get<uint64_t>()).c_str(),
              j["sweep_skipped_after_start"].get<bool>() ? " (files are kept during the grace period after start)" : "");
  return kExitOk;
}

constexpr Setting kFsckSettings[] = {
    {"data", Type::kPath, "./data", "the data directory to check (the server must be stopped)"},
    {"deep", Type::kBool, "false", "also re-hash every blob (reads everything)"},
    {"orphans", Type::kBool, "false", "list the orphaned blobs (digest and size; at most 1000)"},
    {"json", Type::kBool, "false", "print the report as JSON"},
    {"config", Type::kPath, "", "read settings from this file", 0, 0, {}, false},
};

std::string fsck_help() {
  return "usage: otaserver fsck --data DIR [--deep] [--orphans] [--json]\n"
         "\n"
         "Checks a data directory: SQLite integrity and foreign keys; every blob an update or patch references is\n"
         "present with its size; every update has its launch asset; with --deep, every blob hashes to its\n"
         "key. Orphaned blobs (uploads never committed, or no longer referenced) are counted, and listed\n"
         "with --orphans; they are not a problem (garbage collection removes them). Exits 0 when consistent,\n"
         "1 when not.\n"
         "Needs the server stopped: only one process may open the blob store.\n"
         "\nFlags:\n" +
         config::describe_flags(kFsckSettings);
}

int run_fsck(std::span<const std::string> args) {
  int code = 0;
  auto loaded = load_command("fsck", kFsckSettings, args, fsck_help(), code);
  if (!loaded) return code;
  const auto& cfg = loaded->config;
  if (!std::filesystem::exists(std::filesystem::path(cfg.str("data")) / "metadata.db")) {
    return fail("fsck", not_found("no otaserver data directory at " + cfg.str("data")));
  }
  auto data = open_data_dir(cfg.str("data"));
  if (!data) return fail("fsck", data.error());
  auto report = publish::check_consistency(*data->storage, cfg.flag("deep"));
  if (!report) return fail("fsck", report.error());
  if (cfg.flag("json")) {
    json j = {{"ok", report->ok()}, {"updates", report->updates}, {"groups", report->groups},
              {"referenced_blobs", report->referenced_blobs}, {"blobs", report->blobs},
              {"blob_bytes", report->blob_bytes}, {"orphans", report->orphans}, {"orphan_bytes", report->orphan_bytes},
              {"hashed", report->hashed}, {"problems", report->problems}};
    j["orphan_list"] = json::array();
    for (const auto& [digest, size] : report->orphan_list) j["orphan_list"].push_back({{"sha256", digest}, {"size", size}});
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%d update groups, %d updates, %d referenced blobs, %d blobs (%s), %d orphans (%s)%s\n",
                report->groups, report->updates, report->referenced_blobs, report->blobs,
                format_bytes(report->blob_bytes).c_str(), report->orphans, format_bytes(report->orphan_bytes).c_str(),
                cfg.flag("deep") ? (", " + std::to_string(report->hashed) + " re-hashed").c_str() : "");
    if (cfg.flag("orphans")) {
      for (const auto& [digest, size] : report->orphan_list) {
        std::printf("orphan: %s %s\n", digest.c_str(), format_bytes(size).c_str());
      }
    }
    for (const auto& p : report->problems) std::printf("PROBLEM: %s\n", p.c_str());
    std::printf("%s\n", report->ok() ? "consistent" : "INCONSISTENT");
  }
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace

int run_fsck_command(std::span<const std::string> args) { return run_fsck(args); }

int run_gc_command(std::span<const std::string> args) { return run_gc(args); }

std::string admin_commands_help(std::string_view name) {
  if (name == "gc") return gc_help();
  if (name == "fsck") return fsck_help();
  if (name == "token") return token_help();
  if (name == "app") return app_help();
  return keys_help();
}

int run_token_command(std::span<const std::string> args) { return run_token(args); }
int run_app_command(std::span<const std::string> args) { return run_app(args); }
int run_keys_command(std::span<const std::string> args) { return run_keys(args); }

}  // namespace ota::app
