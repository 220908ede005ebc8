// Shared plumbing for the CLI commands: settings tables with --server/--token, printing errors,
// and the exit codes they map to.
#pragma once

#include <cstdio>
#include <span>
#include <string>

#include "app/config_loader.h"
#include "app/exit_codes.h"
#include "common/result.h"
#include "http/client.h"

namespace ota::app {

// Prints "otaserver <command>: <message>" and returns the matching exit code.
int fail(std::string_view command, const Error& error);

// Loads a command's settings; prints help on --help. Returns nullopt and sets `exit_code` when the
// command should stop (help printed, or an error reported).
std::optional<LoadedConfig> load_command(std::string_view command, std::span<const config::Setting> table,
                                         std::span<const std::string> args, const std::string& help, int& exit_code);

Result<http::ApiClient> connect_from(const config::Config& cfg);

}  // namespace ota::app
