#include "app/app.h"

#include <cstdio>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/exit_codes.h"
#include "app/settings.h"
#include "config/config.h"
#include "storage/metadata/migrations.h"

namespace ota::app {
namespace {

std::string version_line() {
  return std::string("otaserver ") + OTA_VERSION + " (metadata schema " +
         std::to_string(metadata::latest_schema_version()) + ")\n";
}

int run_help(std::span<const std::string> args) {
  if (args.empty()) {
    std::fputs(overview_help().c_str(), stdout);
    return kExitOk;
  }
  if (args.front() == "settings") {
    std::fputs(config::describe_markdown(server_settings()).c_str(), stdout);
    return kExitOk;
  }
  const Command* c = find_command(args.front());
  if (c == nullptr) {
    std::fprintf(stderr, "otaserver: no command \"%s\"; `otaserver help` lists them\n", args.front().c_str());
    return kExitUsage;
  }
  std::fputs(c->help().c_str(), stdout);
  return kExitOk;
}

int run_version(std::span<const std::string>) {
  std::fputs(version_line().c_str(), stdout);
  return kExitOk;
}

const std::vector<Command>& command_table() {
  static const std::vector<Command> table = {
      {"serve", "serve updates over HTTP from a data directory (the default command)", serve_help, run_serve},
      {"publish", "publish an `expo export` directory to a running server", publish_help, run_publish},
      {"patch", "publish, list and revoke native hot patches (JSPatch, OCRunner, any file)", patch_help, run_patch},
      {"promote", "copy an update group from one server to another (staging to production)", promote_help,
       run_promote},
      {"update", "list updates; change a rollout; republish, deactivate or delete an update group",
       release_commands_help, run_update_command},
      {"channel", "list channels; point a channel at a branch, or split it between two",
       release_commands_help, run_channel_command},
      {"rollback", "send devices back to the update embedded in their binary", release_commands_help,
       run_rollback_command},
      {"explain", "ask a server which update a device gets, and why (rule by rule)",
       [] { return insight_help("explain"); }, run_explain_command},
      {"adoption", "devices, installs and reported failures per update and day", [] { return insight_help("adoption"); },
       run_adoption_command},
      {"gc", "prune old updates and delete files nothing references", [] { return admin_commands_help("gc"); },
       run_gc_command},
      {"backup", "write a consistent backup of a running server (or a stopped data directory)",
       [] { return backup_commands_help("backup"); }, run_backup_command},
      {"restore", "verify a backup and restore it into a new data directory",
       [] { return backup_commands_help("restore"); }, run_restore_command},
      {"fsck", "check a stopped server's data directory for consistency", [] { return admin_commands_help("fsck"); },
       run_fsck_command},
      {"app", "create, list and configure apps", [] { return admin_commands_help("app"); }, run_app_command},
      {"keys", "generate the code-signing key and certificate for an app",
       [] { return admin_commands_help("keys"); }, run_keys_command},
      {"token", "create, list and revoke admin API tokens (on the server's machine)",
       [] { return admin_commands_help("token"); }, run_token_command},
      {"help", "show help for otaserver or one of its commands",
       [] { return std::string("usage: otaserver help [COMMAND]\n       otaserver help settings   (every serve setting as a Markdown table)\n"); }, run_help},
      {"version", "print the version and the metadata schema version it writes",
       [] { return std::string("usage: otaserver version   (also: otaserver --version)\n"); }, run_version},
  };
  return table;
}

}  // namespace

std::span<const Command> commands() { return command_table(); }

const Command* find_command(std::string_view name) {
  for (const auto& c : command_table()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string overview_help() {
  std::string out =
      "otaserver: a self-hosted over-the-air update server for Expo/React Native apps and native hot patches.\n"
      "\n"
      "usage: otaserver COMMAND [flags]\n"
      "       otaserver --data DIR [flags]     serve (the default command)\n"
      "\n"
      "Commands:\n";
  for (const auto& c : command_table()) {
    std::string name(c.name);
    name.resize(12, ' ');
    out += "  " + name + std::string(c.summary) + "\n";
  }
  out +=
      "\n"
      "Start here:\n"
      "  otaserver --data ./data                 serve on http://127.0.0.1:8080\n"
      "  otaserver help serve                    every setting, with its env variable and default\n"
      "  otaserver help settings                 the same as a Markdown table\n"
      "\n"
      "`otaserver help COMMAND` shows a command's flags and examples.\n";
  return out;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return run_serve(args);
  const std::string& first = args.front();
  if (first == "--version" || first == "-V") return run_version({});
  if (first == "-h" || first == "--help") return run_help({});
  if (!first.empty() && first[0] == '-') return run_serve(args);  // `otaserver --data DIR` == serve
  const Command* c = find_command(first);
  if (c == nullptr) {
    std::fprintf(stderr, "otaserver: unknown command \"%s\"; `otaserver help` lists the commands\n", first.c_str());
    return kExitUsage;
  }
  return c->run(std::span<const std::string>(args).subspan(1));
}

}  // namespace ota::app
