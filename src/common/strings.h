// Small string helpers with no knowledge of otaserver.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ota {

std::string_view trim(std::string_view s);
std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool starts_with(std::string_view s, std::string_view prefix);
std::vector<std::string_view> split(std::string_view s, char sep);

// Plain decimal, no sign, no spaces, no overflow; nullopt otherwise.
std::optional<uint64_t> parse_uint(std::string_view s);

// Human-readable byte count: "1.4 MiB".
std::string format_bytes(uint64_t bytes);

}  // namespace ota
