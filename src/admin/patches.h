// Listing an app's patches with their check and download counters.
#pragma once

#include <string>

#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::admin {

// {"patches":[{id, platform, range, build, seq, size, md5, sha256, policy, rollout_percent,
//  preview_devices, message, created_at, revoked_at, signed_offline, checks, downloads,
//  by_version: {"3.4": {checks, downloads}}}]}, newest first.
Result<std::string> list_patches_json(metadata::Database& db, std::string_view app);

}  // namespace ota::admin
