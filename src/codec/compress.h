// Compressed variants of assets, made once at publish time so serving never compresses.
// The only user of zlib and brotli's encoders in otaserver.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ota::codec {

// Whether compressing this media type is worth trying (text, JS/Hermes bytecode, fonts, JSON, SVG).
bool worth_compressing(std::string_view content_type);

// gzip (RFC 1952) at level 9; nullopt on failure.
std::optional<std::string> gzip(std::string_view data);
// Brotli at quality 9 (quality 11 is 5-10x slower for ~3% smaller bundles).
std::optional<std::string> brotli(std::string_view data);

// Decoders, for tests and verification.
std::optional<std::string> gunzip(std::string_view data, size_t max_output);
std::optional<std::string> unbrotli(std::string_view data, size_t max_output);

}  // namespace ota::codec
