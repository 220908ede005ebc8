// Canonical JSON for manifests and directives (expo-updates-protocol.md §3). Deterministic: the
// same update always renders to the same bytes (checklist 49), so a signature made once stays
// valid for every later response.
#pragma once

#include <string>
#include <string_view>

#include "model/update.h"

namespace ota::expo {

// `asset_url_prefix` is "<public url>/apps/<app>/assets/"; each asset's URL is that plus its
// base64url SHA-256.
std::string render_manifest_json(const model::Update& update, std::string_view asset_url_prefix);

std::string render_no_update_directive();
std::string render_rollback_directive(int64_t commit_time_ms);

}  // namespace ota::expo
