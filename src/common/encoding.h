// Byte <-> text encodings used on the wire: hex, standard base64 and base64url without padding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ota {

std::string hex_encode(std::string_view bytes);  // lower-case
std::optional<std::string> hex_decode(std::string_view text);

// RFC 4648 §4, with '=' padding (what expo-signature's sig needs).
std::string base64_encode(std::string_view bytes);
// Strict: padding required, no whitespace, no URL alphabet.
std::optional<std::string> base64_decode(std::string_view text);

// RFC 4648 §5 without padding (asset hashes, tokens).
std::string base64url_encode(std::string_view bytes);
// Strict: URL alphabet only, no padding, canonical trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);

// Percent-encodes everything but RFC 3986 unreserved characters (for query parameter values).
std::string percent_encode(std::string_view text);

}  // namespace ota
