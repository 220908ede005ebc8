// Gathers settings sources for a command: its flags, OTA_* environment variables and the file
// named by --config / OTA_CONFIG, then checks them against the command's table.
#pragma once

#include <span>
#include <string>

#include "config/config.h"

namespace ota::app {

struct LoadedConfig {
  config::ParsedArgs parsed;
  config::Config config;
};

Result<LoadedConfig> load_config(std::span<const config::Setting> table, std::span<const std::string> args);

}  // namespace ota::app
