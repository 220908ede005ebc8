#include "app/config_loader.h"

#include <cstdlib>

#include "common/fs.h"

extern char** environ;

namespace ota::app {

Result<LoadedConfig> load_config(std::span<const config::Setting> table, std::span<const std::string> args) {
  OTA_ASSIGN_OR_RETURN(config::ParsedArgs parsed, config::parse_args(table, args));
  config::Sources sources;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || !entry.starts_with("OTA_")) continue;
    sources.env.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  sources.flags = parsed.flags;

  std::string config_path;
  for (const auto& [name, value] : sources.env) {
    if (name == "OTA_CONFIG") config_path = value;
  }
  for (const auto& [key, value] : parsed.flags) {
    if (key == "config") config_path = value;
  }
  if (!config_path.empty()) {
    auto text = read_file(config_path, 1u << 20);
    if (!text) {
      return invalid_argument("cannot read the config file: " + text.error().message());
    }
    sources.file = std::make_pair(config_path, std::move(*text));
  }
  OTA_ASSIGN_OR_RETURN(config::Config cfg, config::Config::load(table, sources));
  return LoadedConfig{std::move(parsed), std::move(cfg)};
}

}  // namespace ota::app
