// UUID text form. The randomness comes from the caller (crypto::random_bytes), so this stays a
// pure function.
#pragma once

#include <string>
#include <string_view>

namespace ota {

// Formats 16 random bytes as a lower-case version-4 UUID (8-4-4-4-12).
std::string format_uuid_v4(std::string_view random16);

// True for the canonical lower-case 8-4-4-4-12 hex form.
bool is_canonical_uuid(std::string_view s);

}  // namespace ota
