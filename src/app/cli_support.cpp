#include "app/cli_support.h"

namespace ota::app {

int fail(std::string_view command, const Error& error) {
  std::fprintf(stderr, "otaserver %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               error.message().c_str());
  switch (error.code()) {
    case ErrorCode::kInvalidArgument: return kExitUsage;
    case ErrorCode::kConflict: return kExitFailure;
    default: return kExitFailure;
  }
}

std::optional<LoadedConfig> load_command(std::string_view command, std::span<const config::Setting> table,
                                         std::span<const std::string> args, const std::string& help, int& exit_code) {
  auto loaded = load_config(table, args);
  if (!loaded) {
    exit_code = fail(command, loaded.error());
    return std::nullopt;
  }
  if (loaded->parsed.help) {
    std::fputs(help.c_str(), stdout);
    exit_code = kExitOk;
    return std::nullopt;
  }
  return std::move(*loaded);
}

Result<http::ApiClient> connect_from(const config::Config& cfg) {
  return http::ApiClient::connect({cfg.str("server"), cfg.str("token")});
}

}  // namespace ota::app
