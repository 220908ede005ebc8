// The subcommands of the otaserver executable. Each entry teaches its own usage; `otaserver help`
// and `otaserver help COMMAND` are generated from this table.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ota::app {

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for the overview
  std::function<std::string()> help;  // the full text for `otaserver help NAME`
  std::function<int(std::span<const std::string> args)> run;
};

std::span<const Command> commands();
const Command* find_command(std::string_view name);
std::string overview_help();

// Individual commands.
int run_serve(std::span<const std::string> args);
std::string serve_help();
int run_publish(std::span<const std::string> args);
std::string publish_help();
int run_token_command(std::span<const std::string> args);
int run_app_command(std::span<const std::string> args);
int run_keys_command(std::span<const std::string> args);
std::string admin_commands_help(std::string_view name);
int run_update_command(std::span<const std::string> args);
int run_gc_command(std::span<const std::string> args);
int run_promote(std::span<const std::string> args);
int run_patch(std::span<const std::string> args);
std::string patch_help();
std::string promote_help();
int run_fsck_command(std::span<const std::string> args);
int run_channel_command(std::span<const std::string> args);
int run_rollback_command(std::span<const std::string> args);
std::string release_commands_help();
int run_explain_command(std::span<const std::string> args);
int run_adoption_command(std::span<const std::string> args);
std::string insight_help(std::string_view name);
int run_backup_command(std::span<const std::string> args);
int run_restore_command(std::span<const std::string> args);
std::string backup_commands_help(std::string_view name);

}  // namespace ota::app
