// The settings of `otaserver serve`: one table for the config file, OTA_* variables, flags,
// --help and --print-config (README's settings table is generated from the same rows).
#pragma once

#include <span>

#include "config/config.h"

namespace ota::app {

std::span<const config::Setting> server_settings();

}  // namespace ota::app
