// The one way otaserver logs: spdlog, set up once by app/. Include this instead of spdlog.
// Style: "event key=value key=value"; user data goes in as arguments, never as the format string;
// tokens, signatures and signed query strings are never logged.
#pragma once

#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

namespace ota::log {

// Parses "trace|debug|info|warn|error|off".
std::optional<spdlog::level::level_enum> parse_level(std::string_view name);

// Logs to stderr (journald captures it under systemd) at `level`.
void setup(spdlog::level::level_enum level);

}  // namespace ota::log
