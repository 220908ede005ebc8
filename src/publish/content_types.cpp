#include "publish/content_types.h"

#include <algorithm>
#include <array>
#include <utility>

#include "common/strings.h"

namespace ota::publish {

std::string_view content_type_for(std::string_view ext) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 28> kTypes = {{
      {"js", "application/javascript"},  {"hbc", "application/javascript"}, {"bundle", "application/javascript"},
      {"json", "application/json"},      {"png", "image/png"},               {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},            {"gif", "image/gif"},               {"webp", "image/webp"},
      {"bmp", "image/bmp"},              {"svg", "image/svg+xml"},           {"ico", "image/x-icon"},
      {"ttf", "font/ttf"},               {"otf", "font/otf"},                {"woff", "font/woff"},
      {"woff2", "font/woff2"},           {"mp3", "audio/mpeg"},              {"wav", "audio/wav"},
      {"m4a", "audio/mp4"},              {"aac", "audio/aac"},               {"mp4", "video/mp4"},
      {"mov", "video/quicktime"},        {"html", "text/html"},              {"css", "text/css"},
      {"txt", "text/plain"},             {"xml", "application/xml"},         {"wasm", "application/wasm"},
      {"lottie", "application/json"},
  }};
  std::string lower = to_lower(ext);
  for (const auto& [e, type] : kTypes) {
    if (e == lower) return type;
  }
  return "application/octet-stream";
}

bool valid_extension(std::string_view ext) {
  return !ext.empty() && ext.size() <= 16 && std::all_of(ext.begin(), ext.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  });
}

}  // namespace ota::publish
