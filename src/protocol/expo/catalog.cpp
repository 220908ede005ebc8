#include "protocol/expo/catalog.h"

#include <nlohmann/json.hpp>

#include "codec/compress.h"
#include "common/encoding.h"
#include "common/log.h"
#include "crypto/digest.h"
#include "model/rollout.h"
#include "protocol/expo/multipart.h"
#include "protocol/expo/render.h"

namespace ota::expo {
namespace {

// Updates a stream keeps in its candidate list at most (partial rollouts stacked on each other).
constexpr int kMaxCandidates = 16;
constexpr int64_t kTokenBucketS = 3600;

Body compressed(std::string identity, std::string content_type) {
  Body b;
  b.content_type = std::move(content_type);
  // Precomputed once; kept only when at least 10% smaller.
  if (identity.size() >= 256) {
    auto keep = [&](std::optional<std::string> v) {
      return v && v->size() * 10 <= identity.size() * 9 ? std::move(*v) : std::string();
    };
    b.gzip = keep(codec::gzip(identity));
    b.br = keep(codec::brotli(identity));
  }
  b.identity = std::move(identity);
  return b;
}

std::string boundary_seed() { return hex_encode(crypto::random_bytes(12)); }

Body multipart_body(std::string_view part_name, std::string_view json, std::string_view signature,
                    std::string_view extensions_json) {
  std::vector<Part> parts;
  parts.push_back({part_name, "application/json", signature, json});
  if (!extensions_json.empty()) parts.push_back({"extensions", "application/json", "", extensions_json});
  MultipartBody mp = build_multipart(parts, boundary_seed());
  return compressed(std::move(mp.body), mp.content_type());
}

Result<std::string> sign(const auth::SigningKey& key, std::string_view body) {
  OTA_ASSIGN_OR_RETURN(std::string raw, key.key->sign_sha256(body));
  return signature_header(base64_encode(raw), key.info.keyid);
}

struct AppKeys {
  std::vector<auth::SigningKey> keys;
};

std::string fingerprint(const std::string& prefix, const AppKeys& keys) {
  std::string f = prefix;
  for (const auto& k : keys.keys) f += "|" + k.info.keyid + "@" + std::to_string(k.info.created_at_ms);
  return f;
}

// Renders one update (or rollback marker) with every key of its app.
Result<std::shared_ptr<ServableUpdate>> render(model::Update update, const AppSnapshot& app, const AppKeys& keys) {
  auto s = std::make_shared<ServableUpdate>();
  s->render_fingerprint = fingerprint(app.asset_url_prefix, keys);
  std::string part_name = update.kind == model::UpdateKind::kUpdate ? "manifest" : "directive";
  std::string body = update.kind == model::UpdateKind::kUpdate
                         ? render_manifest_json(update, app.asset_url_prefix)
                         : render_rollback_directive(update.created_at_ms);
  for (const auto& k : keys.keys) {
    OTA_ASSIGN_OR_RETURN(std::string sig, sign(k, body));
    s->signatures[k.info.keyid] = sig;
  }
  if (!app.app.asset_tokens || update.kind != model::UpdateKind::kUpdate) {
    s->multipart[""] = multipart_body(part_name, body, "", "");
    for (const auto& [keyid, sig] : s->signatures) s->multipart[keyid] = multipart_body(part_name, body, sig, "");
  }
  if (update.kind == model::UpdateKind::kUpdate) s->json = compressed(body, "application/expo+json");
  s->manifest_json = std::move(body);
  s->update = std::move(update);
  return s;
}

Result<std::vector<model::Asset>> load_assets(metadata::ReadTransaction& tx, const std::string& update_id) {
  OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT ua.sha256, ua.file_extension, a.md5, a.size, a.content_type "
                                        "FROM update_assets ua JOIN assets a ON a.sha256 = ua.sha256 "
                                        "WHERE ua.update_id = ? ORDER BY ua.position",
                                        update_id));
  std::vector<model::Asset> out;
  while (true) {
    OTA_ASSIGN_OR_RETURN(bool row, q.next());
    if (!row) break;
    auto sha = crypto::Sha256::from_bytes(q.blob(0));
    if (!sha) return corruption("update " + update_id + " references a malformed asset digest");
    out.push_back({*sha, q.text(2), static_cast<uint64_t>(q.int64(3)), q.text(4), q.text(1)});
  }
  return out;
}

const ServableUpdate* find_previous(const Catalog* previous, const std::string& app, const std::string& key,
                                    const std::string& id) {
  if (previous == nullptr) return nullptr;
  auto a = previous->apps.find(app);
  if (a == previous->apps.end()) return nullptr;
  auto s = a->second->streams.find(key);
  if (s == a->second->streams.end()) return nullptr;
  for (const auto& c : s->second.candidates) {
    if (c->update.id == id) return c.get();
  }
  return nullptr;
}

}  // namespace

std::string stream_key(int64_t branch_id, std::string_view runtime_version, model::Platform platform) {
  std::string key = std::to_string(branch_id);
  key += '\n';
  key += model::platform_name(platform);
  key += '\n';
  key.append(runtime_version);
  return key;
}

Result<std::shared_ptr<const Catalog>> build_catalog(metadata::Database& db, const BuildInputs& inputs) {
  auto catalog = std::make_shared<Catalog>();
  OTA_ASSIGN_OR_RETURN(auto tx, db.begin_read());

  std::unordered_map<int64_t, std::shared_ptr<AppSnapshot>> by_id;
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, name, default_channel, asset_tokens, asset_token_ttl_s, "
                                          "created_at_ms FROM apps"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      auto a = std::make_shared<AppSnapshot>();
      a->app = {q.int64(0), q.text(1), q.text(2), q.int64(3) != 0, q.int64(4), q.int64(5)};
      a->asset_url_prefix = inputs.public_url + "/apps/" + a->app.name + "/assets/";
      by_id[a->app.id] = a;
    }
  }
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT app_id, name, branch_id, coalesce(split_branch_id, 0), "
                                          "split_percent FROM channels"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      if (auto it = by_id.find(q.int64(0)); it != by_id.end()) {
        it->second->channels[q.text(1)] = {q.int64(2), q.int64(3), static_cast<int>(q.int64(4))};
      }
    }
  }
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT app_id, id, name FROM branches"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      if (auto it = by_id.find(q.int64(0)); it != by_id.end()) it->second->branch_names[q.int64(1)] = q.text(2);
    }
  }
  std::unordered_map<int64_t, AppKeys> keys;
  {
    OTA_ASSIGN_OR_RETURN(auto all, auth::load_signing_keys(tx, inputs.server_secret));
    for (auto& [app_id, key] : all) keys[app_id].keys.push_back(std::move(key));
  }
  for (auto& [id, app] : by_id) {
    const AppKeys& k = keys[id];
    for (const auto& key : k.keys) app->keyids.push_back(key.info.keyid);
    std::string directive = render_no_update_directive();
    app->no_update[""] = multipart_body("directive", directive, "", "");
    for (const auto& key : k.keys) {
      OTA_ASSIGN_OR_RETURN(std::string sig, sign(key, directive));
      app->no_update[key.info.keyid] = multipart_body("directive", directive, sig, "");
    }
  }

  struct StreamRow {
    int64_t app_id, branch_id;
    std::string runtime;
    model::Platform platform;
  };
  std::vector<StreamRow> streams;
  {
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT DISTINCT app_id, branch_id, runtime_version, platform FROM updates "
                                          "WHERE state = 'active'"));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      streams.push_back({q.int64(0), q.int64(1), q.text(2),
                         model::parse_platform(q.text(3)).value_or(model::Platform::kIos)});
    }
  }
  int rendered = 0, reused = 0;
  for (const auto& s : streams) {
    auto app_it = by_id.find(s.app_id);
    if (app_it == by_id.end()) continue;
    AppSnapshot& app = *app_it->second;
    std::string key = stream_key(s.branch_id, s.runtime, s.platform);
    std::string print = fingerprint(app.asset_url_prefix, keys[s.app_id]);
    Stream stream;
    OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT id, group_id, kind, created_at_ms, extra_json, metadata_json, "
                                          "rollout_percent, rollout_salt FROM updates WHERE app_id = ? AND branch_id = ? "
                                          "AND runtime_version = ? AND platform = ? AND state = 'active' "
                                          "ORDER BY created_at_ms DESC LIMIT ?",
                                          s.app_id, s.branch_id, s.runtime, model::platform_name(s.platform),
                                          kMaxCandidates));
    while (true) {
      OTA_ASSIGN_OR_RETURN(bool row, q.next());
      if (!row) break;
      model::Update u;
      u.id = q.text(0);
      u.group_id = q.text(1);
      u.app_id = s.app_id;
      u.branch_id = s.branch_id;
      u.platform = s.platform;
      u.runtime_version = s.runtime;
      u.kind = q.text(2) == "rollback" ? model::UpdateKind::kRollback : model::UpdateKind::kUpdate;
      u.created_at_ms = q.int64(3);
      u.extra_json = q.text(4);
      u.metadata_json = q.text(5);
      u.rollout_percent = static_cast<int>(q.int64(6));
      u.rollout_salt = q.text(7);
      bool last = u.kind == model::UpdateKind::kRollback || u.rollout_percent >= 100;

      const ServableUpdate* prev = find_previous(inputs.previous, app.app.name, key, u.id);
      if (prev != nullptr && prev->render_fingerprint == print && prev->update.rollout_percent == u.rollout_percent &&
          prev->update.rollout_salt == u.rollout_salt) {
        // Same bytes as before: share them (the previous catalog owns a shared_ptr to it).
        auto prev_app = inputs.previous->apps.at(app.app.name);
        for (const auto& c : prev_app->streams.at(key).candidates) {
          if (c.get() == prev) stream.candidates.push_back(c);
        }
        ++reused;
      } else {
        if (u.kind == model::UpdateKind::kUpdate) {
          OTA_ASSIGN_OR_RETURN(u.assets, load_assets(tx, u.id));
          if (u.assets.empty()) return corruption("update " + u.id + " has no launch asset");
          u.launch_asset = u.assets.front();
          u.assets.erase(u.assets.begin());
        }
        OTA_ASSIGN_OR_RETURN(auto servable, render(std::move(u), app, keys[s.app_id]));
        stream.candidates.push_back(std::move(servable));
        ++rendered;
      }
      if (last) break;
    }
    if (!stream.candidates.empty()) app.streams[key] = std::move(stream);
  }
  for (auto& [id, app] : by_id) {
    std::unordered_map<std::string, int64_t> newest;
    for (const auto& [key, stream] : app->streams) {
      for (const auto& c : stream.candidates) {
        if (!c->update.launch_asset) continue;
        std::string sha = c->update.launch_asset->sha256.base64url();
        auto [it, inserted] = newest.try_emplace(sha, c->update.created_at_ms);
        if (inserted || c->update.created_at_ms > it->second) {
          it->second = c->update.created_at_ms;
          app->launch_updates[sha] = c->update.id;
        }
      }
    }
    catalog->apps[app->app.name] = app;
  }
  spdlog::debug("catalog built apps={} streams={} rendered={} reused={}", catalog->apps.size(), streams.size(),
                rendered, reused);
  return std::shared_ptr<const Catalog>(std::move(catalog));
}

int64_t route_branch(const std::string& channel, const ChannelRoute& route, const std::optional<std::string>& client_id) {
  if (route.split_branch_id == 0 || route.split_percent <= 0 || !client_id) return route.branch_id;
  bool split = model::in_rollout("channel:" + channel, *client_id, route.split_percent);
  return split ? route.split_branch_id : route.branch_id;
}

Selection select_update(const AppSnapshot& app, const ManifestRequest& req) {
  Selection none{req.protocol_version == 0 ? Selection::Kind::kNothingForProtocol0 : Selection::Kind::kNoUpdate,
                 nullptr};
  const std::string& channel = req.channel ? *req.channel : app.app.default_channel;
  auto ch = app.channels.find(channel);
  if (ch == app.channels.end()) return none;
  int64_t branch_id = route_branch(channel, ch->second, req.client_id);
  auto stream = app.streams.find(stream_key(branch_id, req.runtime_version, req.platform));
  if (stream == app.streams.end()) return none;
  for (const auto& c : stream->second.candidates) {
    const model::Update& u = c->update;
    if (u.rollout_percent < 100) {
      if (!req.client_id) continue;
      if (!model::in_rollout(u.rollout_salt, *req.client_id, u.rollout_percent)) continue;
    }
    if (u.kind == model::UpdateKind::kRollback) {
      if (req.protocol_version == 0) return {Selection::Kind::kNothingForProtocol0, c.get()};
      bool on_embedded = req.current_update_id && req.embedded_update_id &&
                         *req.current_update_id == *req.embedded_update_id;
      if (on_embedded) return {Selection::Kind::kNoUpdate, nullptr};
      return {Selection::Kind::kRollback, c.get()};
    }
    if (req.protocol_version >= 1 && req.current_update_id && *req.current_update_id == u.id) {
      return {Selection::Kind::kNoUpdate, nullptr};
    }
    return {Selection::Kind::kManifest, c.get()};
  }
  return none;
}

std::shared_ptr<const ServableUpdate::Tokenized> tokenized_bodies(const ServableUpdate& s, const AppSnapshot& app,
                                                                  const auth::UrlSigner& signer, int64_t now_ms) {
  // Tokens expire at the end of the bucket after the TTL, so one rendering serves a whole hour.
  int64_t expires_s = (now_ms / 1000 + app.app.asset_token_ttl_s + kTokenBucketS - 1) / kTokenBucketS * kTokenBucketS;
  std::lock_guard lock(s.tokenized_mutex);
  if (s.tokenized && s.tokenized->expires_s == expires_s) return s.tokenized;
  nlohmann::json headers = nlohmann::json::object();
  auto add = [&](const model::Asset& a) {
    headers[a.md5] = {{"ota-asset-token", signer.issue(app.app.name, a.sha256.base64url(), expires_s)}};
  };
  add(*s.update.launch_asset);
  for (const auto& a : s.update.assets) add(a);
  std::string extensions = nlohmann::json{{"assetRequestHeaders", headers}}.dump();
  auto t = std::make_shared<ServableUpdate::Tokenized>();
  t->expires_s = expires_s;
  t->multipart[""] = multipart_body("manifest", s.manifest_json, "", extensions);
  for (const auto& [keyid, sig] : s.signatures) {
    t->multipart[keyid] = multipart_body("manifest", s.manifest_json, sig, extensions);
  }
  s.tokenized = t;
  return t;
}

}  // namespace ota::expo
