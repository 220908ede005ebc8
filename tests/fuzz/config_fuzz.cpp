// The server's settings (config/config.cpp with the real table of app/settings.cpp): the config
// file (/etc/otaserver/otaserver.conf), OTA_* environment variables and --flags. Input: the
// command-line arguments on the first line (separated by spaces), environment entries
// "NAME=value" on the second (separated by tabs), the config file after that. Properties:
//   - nothing but kInvalidArgument is ever returned as an error;
//   - every loaded value is valid for its type: numbers within their bounds, booleans "true" or
//     "false", choices from their list, URLs http(s) without a trailing '/', no control bytes;
//   - loading is idempotent: the loaded values written back as a config file load to the same
//     values (what --print-config shows can be pasted into the file);
//   - describe() has one line per setting.

#include <algorithm>
#include <string>
#include <vector>

#include "app/settings.h"
#include "common/strings.h"
#include "config/config.h"
#include "fuzz_support.h"

namespace {

using ota::config::Config;
using ota::config::Setting;
using ota::config::Type;

void check_value(const Setting& s, const std::string& v) {
  for (char c : v) FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20);
  switch (s.type) {
    case Type::kUInt: {
      auto n = ota::parse_uint(v);
      FUZZ_CHECK(n && *n >= s.min && *n <= s.max && std::to_string(*n) == v);
      break;
    }
    case Type::kBool:
      FUZZ_CHECK(v == "true" || v == "false");
      break;
    case Type::kChoice: {
      bool listed = false;
      for (auto choice : ota::split(s.choices, '|')) listed = listed || choice == v;
      FUZZ_CHECK(listed);
      break;
    }
    case Type::kUrl:
      FUZZ_CHECK(v.empty() || ((ota::starts_with(v, "http://") || ota::starts_with(v, "https://")) && v.back() != '/'));
      break;
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto table = ota::app::server_settings();
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 3);

  std::vector<std::string> args;
  if (!f[0].empty()) {
    for (std::string_view a : ota::split(f[0], ' ')) args.emplace_back(a);
  }
  auto parsed = ota::config::parse_args(table, args);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  ota::config::Sources sources;
  sources.flags = parsed->flags;
  if (!f[1].empty()) {
    for (std::string_view entry : ota::split(f[1], '\t')) {
      const size_t eq = entry.find('=');
      if (eq != std::string_view::npos) sources.env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  sources.file = std::make_pair(std::string("/etc/otaserver/otaserver.conf"), std::string(f[2]));

  auto cfg = Config::load(table, sources);
  if (!cfg) {
    FUZZ_CHECK(cfg.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  std::string file;
  for (const Setting& s : table) {
    const std::string& v = cfg->str(s.key);
    check_value(s, v);
    // Quoted, so surrounding spaces, quotes and '#' survive the file syntax.
    if (s.in_file) file += std::string(s.key) + " = \"" + v + "\"\n";
  }
  auto again = Config::load(table, {std::make_pair(std::string("again.conf"), file), {}, {}});
  FUZZ_CHECK(again.has_value());
  for (const Setting& s : table) {
    if (s.in_file) FUZZ_CHECK(again->str(s.key) == cfg->str(s.key));
  }
  const std::string described = cfg->describe();
  FUZZ_CHECK(static_cast<size_t>(std::count(described.begin(), described.end(), '\n')) == table.size());
  return 0;
}
