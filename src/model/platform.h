// The mobile platforms an update or patch targets.
#pragma once

#include <optional>
#include <string_view>

namespace ota::model {

enum class Platform { kIos, kAndroid };

constexpr std::string_view platform_name(Platform p) { return p == Platform::kIos ? "ios" : "android"; }

// Exactly "ios" or "android" (lower case, as clients send them).
constexpr std::optional<Platform> parse_platform(std::string_view s) {
  if (s == "ios") return Platform::kIos;
  if (s == "android") return Platform::kAndroid;
  return std::nullopt;
}

}  // namespace ota::model
