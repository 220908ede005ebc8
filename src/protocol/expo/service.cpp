#include "protocol/expo/service.h"

#include "common/log.h"

namespace ota::expo {

ExpoService::ExpoService(storage::Storage& storage, const Clock& clock, std::string server_secret,
                         ExpoOptions options)
    : storage_(storage),
      clock_(clock),
      server_secret_(std::move(server_secret)),
      options_(std::move(options)),
      catalog_(std::make_shared<const Catalog>()),
      assets_(storage, options_.asset_cache_bytes) {}

Status ExpoService::reload() {
  std::lock_guard lock(reload_mutex_);
  auto previous = catalog_.load();
  OTA_ASSIGN_OR_RETURN(auto signer, auth::UrlSigner::load(storage_.db(), server_secret_, clock_.now_ms()));
  OTA_ASSIGN_OR_RETURN(auto next, build_catalog(storage_.db(), {options_.public_url, server_secret_, previous.get()}));
  // Warm the asset library with every asset a device can be sent right now.
  for (const auto& [name, app] : next->apps) {
    for (const auto& [key, stream] : app->streams) {
      for (const auto& c : stream.candidates) {
        if (!c->update.launch_asset) continue;
        (void)assets_.find(app->app.id, c->update.launch_asset->sha256);
        for (const auto& a : c->update.assets) (void)assets_.find(app->app.id, a.sha256);
      }
    }
  }
  signer_.store(std::make_shared<const auth::UrlSigner>(std::move(signer)));
  catalog_.store(std::move(next));
  return ok();
}

ManifestAnswer ExpoService::answer(std::string_view app_name, const ManifestRequest& req) const {
  ManifestAnswer out;
  out.protocol_version = req.protocol_version;
  auto fail = [&](Error e) {
    out.status = 0;
    out.error = std::move(e);
    return out;
  };
  auto catalog = catalog_.load();
  auto app_it = catalog->apps.find(std::string(app_name));
  if (app_it == catalog->apps.end()) {
    return fail(not_found("no app named \"" + std::string(app_name.substr(0, 80)) + "\" on this server"));
  }
  const AppSnapshot& app = *app_it->second;

  std::string keyid;
  if (req.expects_signature) {
    if (app.keyids.empty()) {
      return fail(invalid_argument("the app \"" + app.app.name + "\" has no code-signing key, but the client expects "
                                   "signed manifests; create one with `otaserver keys generate --app " +
                                   app.app.name + "`"));
    }
    keyid = req.expected_keyid.value_or(app.keyids.front());
    if (std::find(app.keyids.begin(), app.keyids.end(), keyid) == app.keyids.end()) {
      return fail(invalid_argument("the client expects a signature with keyid \"" + keyid.substr(0, 64) +
                                   "\", but the app's keys are: " + [&] {
                                     std::string all;
                                     for (const auto& k : app.keyids) all += (all.empty() ? "" : ", ") + k;
                                     return all;
                                   }()));
    }
  }

  Selection sel = select_update(app, req);
  if (options_.usage != nullptr) record(app, req, sel);
  switch (sel.kind) {
    case Selection::Kind::kNothingForProtocol0:
      return fail(not_found(sel.update ? "the newest entry for this runtime version is a roll back to the embedded "
                                         "update, which protocol 0 clients cannot receive"
                                       : "no update published for this channel, runtime version and platform"));
    case Selection::Kind::kNoUpdate:
    case Selection::Kind::kRollback: {
      if (req.format != ResponseFormat::kMultipart) {
        return fail(Error(ErrorCode::kNotAcceptable,
                          "the answer is a directive, which needs `Accept: multipart/mixed`"));
      }
      const BodiesByKey& bodies = sel.kind == Selection::Kind::kNoUpdate ? app.no_update : sel.update->multipart;
      out.body = &bodies.find(keyid)->second;
      if (sel.update) out.update_id = sel.update->update.id;
      out.hold = catalog;
      return out;
    }
    case Selection::Kind::kManifest:
      break;
  }
  const ServableUpdate& s = *sel.update;
  out.update_id = s.update.id;
  if (req.format == ResponseFormat::kJson) {
    out.body = &s.json;
    if (!keyid.empty()) out.signature = s.signatures.find(keyid)->second;
    out.hold = catalog;
    return out;
  }
  if (app.app.asset_tokens) {
    auto tokenized = tokenized_bodies(s, app, *signer_.load(), clock_.now_ms());
    out.body = &tokenized->multipart.find(keyid)->second;
    // Hold both: the tokenized bodies may be replaced in the next bucket.
    out.hold = std::make_shared<std::pair<std::shared_ptr<const Catalog>, std::shared_ptr<const void>>>(catalog,
                                                                                                        tokenized);
    return out;
  }
  out.body = &s.multipart.find(keyid)->second;
  out.hold = catalog;
  return out;
}

void ExpoService::record(const AppSnapshot& app, const ManifestRequest& req, const Selection& sel) const {
  telemetry::UsageRecorder& usage = *options_.usage;
  usage.checked_in(app.app.id, model::platform_name(req.platform), req.runtime_version,
                   req.channel ? *req.channel : app.app.default_channel);
  std::optional<std::string_view> device;
  if (req.client_id) device = *req.client_id;
  if (sel.update != nullptr && (sel.kind == Selection::Kind::kManifest || sel.kind == Selection::Kind::kRollback)) {
    usage.served(telemetry::Subject::kUpdate, sel.update->update.id, device);
  }
  if (req.current_update_id && device) usage.running(*req.current_update_id, *device);
  for (const auto& failed : req.recent_failed_update_ids) usage.failure_reported(failed, device);
}

void ExpoService::note_download(std::string_view app_name, std::string_view hash,
                                std::optional<std::string_view> device) const {
  if (options_.usage == nullptr) return;
  auto catalog = catalog_.load();
  auto app_it = catalog->apps.find(std::string(app_name));
  if (app_it == catalog->apps.end()) return;
  const auto& launches = app_it->second->launch_updates;
  auto it = launches.find(std::string(hash));
  if (it != launches.end()) options_.usage->downloaded(telemetry::Subject::kUpdate, it->second, device);
}

Result<std::shared_ptr<const ServedAsset>> ExpoService::asset(std::string_view app_name, std::string_view hash,
                                                              std::optional<std::string_view> token) {
  auto catalog = catalog_.load();
  auto app_it = catalog->apps.find(std::string(app_name));
  if (app_it == catalog->apps.end()) return not_found("no app named \"" + std::string(app_name.substr(0, 80)) + "\"");
  const model::App& app = app_it->second->app;
  auto digest = crypto::Sha256::from_base64url(hash);
  if (!digest) return not_found("asset URLs end in the asset's 43-character base64url SHA-256");
  if (app.asset_tokens) {
    if (!token) {
      return Error(ErrorCode::kForbidden, "this app's assets need a token: send the ota-asset-token header from the "
                                          "manifest's extensions (expo-updates does this itself)");
    }
    OTA_TRY(signer_.load()->verify(*token, app.name, hash, clock_.now_ms()));
  }
  return assets_.find(app.id, *digest);
}

}  // namespace ota::expo
