// Settings: one declarative table drives the config file, OTA_* environment variables, --flags,
// --help and --print-config. Precedence: default < file < environment < flag. Every value
// remembers where it came from, so --print-config can say why a setting has its value.
//
// The table itself lives with its user (app/ for the server, each CLI command for its flags);
// this module only knows how to read, check and describe settings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace ota::config {

enum class Type {
  kString,
  kPath,
  kUInt,      // decimal, within [min, max]
  kBool,      // true/false/1/0/yes/no/on/off; a bare --flag means true
  kHostPort,  // HOST:PORT or [IPv6]:PORT, port 0..65535 (0 = pick a free port)
  kUrl,       // http:// or https:// absolute URL; a trailing '/' is dropped
  kChoice,    // one of the '|'-separated words in `choices`
};

struct Setting {
  std::string_view key;  // snake_case; flag is --key-with-dashes, env is OTA_KEY
  Type type;
  std::string_view default_value;
  std::string_view help;  // one line: what it does and when to change it
  uint64_t min = 0;
  uint64_t max = UINT64_MAX;
  std::string_view choices = {};
  bool in_file = true;  // false for settings that only make sense on the command line (e.g. config)
};

std::string flag_name(std::string_view key);  // "public_url" -> "--public-url"
std::string env_name(std::string_view key);   // "public_url" -> "OTA_PUBLIC_URL"

enum class Origin { kDefault, kFile, kEnv, kFlag };

struct Value {
  std::string text;
  Origin origin = Origin::kDefault;
  std::string source;  // "default", "/etc/otaserver/otaserver.conf:3", "env OTA_LISTEN", "flag --listen"
};

// Where settings come from, gathered by the caller so this module does no I/O.
struct Sources {
  std::optional<std::pair<std::string, std::string>> file;    // path and contents
  std::vector<std::pair<std::string, std::string>> env;       // NAME=value, any names (OTA_* are read)
  std::vector<std::pair<std::string, std::string>> flags;     // from parse_args: key and value
};

class Config {
 public:
  // Reads and checks every source. Errors (kInvalidArgument) name the source, the line, the key
  // and what a valid value looks like; unknown keys are errors, with a suggestion when close.
  static Result<Config> load(std::span<const Setting> table, const Sources& sources);

  const std::string& str(std::string_view key) const;
  uint64_t uint(std::string_view key) const;
  bool flag(std::string_view key) const;
  const Value& value(std::string_view key) const;

  // "key = value    # source" for every setting, in table order.
  std::string describe() const;

 private:
  std::span<const Setting> table_;
  std::map<std::string, Value, std::less<>> values_;
};

struct ParsedArgs {
  std::vector<std::pair<std::string, std::string>> flags;  // key (snake_case) and value
  std::vector<std::string> positional;
  bool help = false;          // -h / --help
  bool print_config = false;  // --print-config
};

// Parses "--key value", "--key=value", bare "--bool-flag", "-h", "--help", "--print-config" and
// "--" against `table`. Unknown flags are errors that suggest the closest known flag.
Result<ParsedArgs> parse_args(std::span<const Setting> table, std::span<const std::string> args);

// The flags section of --help, generated from the table: flag, env name, default, help.
std::string describe_flags(std::span<const Setting> table);

// The same as a Markdown table (README.md embeds it; a test keeps the two identical).
std::string describe_markdown(std::span<const Setting> table);

}  // namespace ota::config
