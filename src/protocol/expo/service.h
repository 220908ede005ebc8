// The Expo Updates protocol as a service: answers manifest requests from the current catalog
// snapshot and asset requests from the asset library. Knows nothing of HTTP libraries; http/
// turns its answers into responses.
//
// Threading: answer() and asset() are called from many worker threads and never block on
// reload(), which builds the next snapshot aside and swaps it in atomically.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "auth/url_signer.h"
#include "common/clock.h"
#include "common/result.h"
#include "protocol/expo/asset_library.h"
#include "protocol/expo/catalog.h"
#include "protocol/expo/manifest_request.h"
#include "storage/storage.h"
#include "telemetry/usage.h"

namespace ota::expo {

struct ExpoOptions {
  std::string public_url;                    // no trailing slash
  size_t asset_cache_bytes = size_t{256} << 20;
  telemetry::UsageRecorder* usage = nullptr;  // adoption counters; none when null
};

struct ManifestAnswer {
  int status = 200;
  int protocol_version = 0;
  const Body* body = nullptr;         // null for errors
  std::string_view signature;         // JSON format only: the expo-signature response header
  std::string_view update_id;         // what was served (for logs and metrics)
  std::optional<Error> error;
  std::shared_ptr<const void> hold;   // keeps `body` alive while it is being sent
};

class ExpoService {
 public:
  ExpoService(storage::Storage& storage, const Clock& clock, std::string server_secret, ExpoOptions options);

  // Rebuilds the catalog from the database (after a publish or any state change) and loads the
  // URL signing keys. Serialized; readers keep using the previous snapshot until the swap.
  Status reload();

  ManifestAnswer answer(std::string_view app, const ManifestRequest& request) const;

  // An asset of `app` by base64url SHA-256. kNotFound for unknown apps or assets; kForbidden for a
  // missing or invalid token when the app requires one.
  Result<std::shared_ptr<const ServedAsset>> asset(std::string_view app, std::string_view hash,
                                                   std::optional<std::string_view> token);

  // Counts a download of `hash` as an install when it is an update's launch asset.
  void note_download(std::string_view app, std::string_view hash, std::optional<std::string_view> device) const;

  std::shared_ptr<const Catalog> snapshot() const { return catalog_.load(); }
  void forget_assets(const std::vector<crypto::Sha256>& digests) { assets_.forget(digests); }
  const ExpoOptions& options() const { return options_; }

 private:
  void record(const AppSnapshot& app, const ManifestRequest& request, const Selection& selection) const;

  storage::Storage& storage_;
  const Clock& clock_;
  std::string server_secret_;
  ExpoOptions options_;
  std::mutex reload_mutex_;
  std::atomic<std::shared_ptr<const Catalog>> catalog_;
  std::atomic<std::shared_ptr<const auth::UrlSigner>> signer_;
  mutable AssetLibrary assets_;
};

}  // namespace ota::expo
