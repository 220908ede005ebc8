// Names, branches and channels: the lookups that publishing, admin and the protocol share.
#pragma once

#include <string_view>

#include "common/result.h"
#include "storage/metadata/database.h"

namespace ota::repos {

// Names of apps, channels and branches: [A-Za-z0-9._+-]{1,64} (docs/reliability.md §5), so they
// are safe in URLs, logs and headers.
Status validate_name(std::string_view what, std::string_view value);

// The id of the app named `app`; kNotFound (naming it) if there is none.
Result<int64_t> app_id(metadata::WriteTransaction& tx, std::string_view app);
Result<int64_t> app_id(metadata::ReadTransaction& tx, std::string_view app);

// Finds or creates a branch of the app; returns its id.
Result<int64_t> ensure_branch(metadata::WriteTransaction& tx, int64_t app_id, std::string_view branch, int64_t now_ms);

// The branch a channel points at; kNotFound if the app has no such channel.
Result<int64_t> channel_branch(metadata::WriteTransaction& tx, int64_t app_id, std::string_view channel);

}  // namespace ota::repos
