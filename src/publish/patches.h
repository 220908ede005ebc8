// Publishing native hot patches: one uploaded file (a blob) plus its targeting, signed by the
// app's patch key (or checked against it when signed offline), made visible in one transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/result.h"
#include "crypto/digest.h"
#include "model/platform.h"
#include "storage/storage.h"

namespace ota::publish {

struct PatchRequest {
  std::string app;
  model::Platform platform = model::Platform::kIos;
  std::string version_range;            // canonical; an exact version is "=3.4"
  std::optional<std::string> build;     // exact build, or every build
  crypto::Sha256 sha256;                // the uploaded patch file
  std::optional<std::string> signature; // base64 RSA-SHA256 made offline; verified, not trusted
  int policy = 0;                       // 0 WaitForNextLaunch, 1 AskForNextLaunch, 2 Overwrite
  int rollout_percent = 100;
  std::vector<std::string> preview_devices;  // non-empty: only these devices get it
  std::string message;
};

// Parses the JSON body of POST /api/v1/apps/{app}/patches:
// {"platform":"ios", "version":"3.4.0" | "range":">=3.4.0 <3.5.0", "build":"18221", "sha256":"…",
//  "signature":"…"?, "policy":0, "rollout_percent":100, "preview_devices":["…"], "message":"…"}
Result<PatchRequest> parse_patch_request(std::string_view app, std::string_view json);

struct PatchResult {
  std::string id;
  int64_t seq = 0;
  int64_t created_at_ms = 0;
  std::string signature;
  std::string md5;
  uint64_t size = 0;
};

class PatchPublisher {
 public:
  PatchPublisher(storage::Storage& storage, const Clock& clock, std::string server_secret)
      : storage_(storage), clock_(clock), server_secret_(std::move(server_secret)) {}

  Result<PatchResult> publish(const PatchRequest& request, const auth::Actor& actor);

  // Revocation takes effect at the next catalog reload; it is audited and can be undone.
  Status set_revoked(std::string_view app, std::string_view patch_id, bool revoked, const auth::Actor& actor);

  // The PEM clients embed to verify patches (creates the app's patch key on first use).
  Result<std::string> public_key(std::string_view app);

 private:
  storage::Storage& storage_;
  const Clock& clock_;
  std::string server_secret_;
};

}  // namespace ota::publish
