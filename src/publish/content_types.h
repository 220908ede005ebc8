// Media types for asset extensions. Content types come from this allowlist, never from uploads.
#pragma once

#include <string_view>

namespace ota::publish {

// "png" -> "image/png"; unknown -> "application/octet-stream". `ext` has no leading dot.
std::string_view content_type_for(std::string_view ext);

// An asset extension as `expo export` writes it: [A-Za-z0-9]{1,16}.
bool valid_extension(std::string_view ext);

}  // namespace ota::publish
