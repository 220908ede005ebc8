#include "config/config.h"

#include <algorithm>

#include "common/strings.h"

namespace ota::config {
namespace {

constexpr size_t kMaxLine = 4096;
constexpr size_t kMaxFile = 1u << 20;

const Setting* find_setting(std::span<const Setting> table, std::string_view key) {
  for (const auto& s : table) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::span<const Setting> table, std::string_view key, bool as_flag) {
  const Setting* best = nullptr;
  size_t best_d = 3;
  for (const auto& s : table) {
    // The distance is at least the difference in length: skip keys that cannot beat best_d, so a
    // 4 KiB unknown key costs nothing (it made tests/fuzz/config_fuzz run at 500 inputs/s).
    if (std::max(key.size(), s.key.size()) - std::min(key.size(), s.key.size()) >= best_d) continue;
    size_t d = edit_distance(key, s.key);
    if (d < best_d) {
      best_d = d;
      best = &s;
    }
  }
  if (best == nullptr) return as_flag ? "; see --help for the list" : "; see `otaserver help serve` for the list";
  return "; did you mean " + (as_flag ? flag_name(best->key) : std::string(best->key)) + "?";
}

std::string describe_type(const Setting& s) {
  switch (s.type) {
    case Type::kString: return "a string";
    case Type::kPath: return "a file or directory path";
    case Type::kUInt: return "a whole number from " + std::to_string(s.min) + " to " + std::to_string(s.max);
    case Type::kBool: return "true or false";
    case Type::kHostPort: return "HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (port 0 picks a free port)";
    case Type::kUrl: return "an absolute http:// or https:// URL, e.g. https://ota.example.com";
    case Type::kChoice: return "one of " + std::string(s.choices);
  }
  return "a value";
}

bool valid_host_port(std::string_view v) {
  std::string_view host, port;
  if (starts_with(v, "[")) {
    size_t close = v.find("]:");
    if (close == std::string_view::npos) return false;
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    size_t colon = v.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;
  }
  auto p = parse_uint(port);
  if (host.empty() || !p || *p > 65535) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == ':';
  });
}

std::optional<bool> parse_bool(std::string_view v) {
  std::string l = to_lower(v);
  if (l == "true" || l == "1" || l == "yes" || l == "on") return true;
  if (l == "false" || l == "0" || l == "no" || l == "off") return false;
  return std::nullopt;
}

// Checks and normalizes one value. Returns the normalized text.
Result<std::string> check(const Setting& s, std::string_view raw, std::string_view source) {
  auto bad = [&](std::string_view why = {}) {
    // Built with append(): GCC 12 at -O3 misreports operator+ chains here (-Wrestrict).
    std::string m = "invalid value for ";
    m.append(s.key).append(" (from ").append(source).append("): \"").append(raw.substr(0, 200)).append("\"");
    if (!why.empty()) m.append(" ").append(why);
    m.append("; expected ").append(describe_type(s));
    return invalid_argument(std::move(m));
  };
  for (char c : raw) {
    if (static_cast<unsigned char>(c) < 0x20) return bad("contains a control character");
  }
  switch (s.type) {
    case Type::kString:
      return std::string(raw);
    case Type::kPath:
      if (raw.empty() && !s.default_value.empty()) return bad("is empty");
      return std::string(raw);
    case Type::kUInt: {
      auto n = parse_uint(raw);
      if (!n || *n < s.min || *n > s.max) return bad();
      return std::to_string(*n);
    }
    case Type::kBool: {
      auto b = parse_bool(raw);
      if (!b) return bad();
      return std::string(*b ? "true" : "false");
    }
    case Type::kHostPort:
      if (!valid_host_port(raw)) return bad();
      return std::string(raw);
    case Type::kUrl: {
      if (raw.empty()) return std::string();  // "not set": callers derive a default
      std::string v(raw);
      while (v.size() > 1 && v.back() == '/') v.pop_back();
      size_t sep = v.find("://");
      if (sep == std::string::npos) return bad();
      std::string scheme = to_lower(std::string_view(v).substr(0, sep));
      if (scheme != "http" && scheme != "https") return bad();
      v.replace(0, sep, scheme);
      size_t host_start = sep + 3;
      size_t host_end = v.find_first_of("/:", host_start);
      bool has_host = host_end == std::string::npos ? v.size() > host_start : host_end > host_start;
      if (!has_host || v.find_first_of(" ?#\"'<>\\", host_start) != std::string::npos) return bad("has no host");
      return v;
    }
    case Type::kChoice:
      for (auto choice : split(s.choices, '|')) {
        if (choice == raw) return std::string(raw);
      }
      return bad();
  }
  return bad();
}

}  // namespace

std::string flag_name(std::string_view key) {
  std::string out = "--";
  for (char c : key) out += c == '_' ? '-' : c;
  return out;
}

std::string env_name(std::string_view key) {
  std::string out = "OTA_";
  for (char c : key) out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

Result<Config> Config::load(std::span<const Setting> table, const Sources& sources) {
  Config cfg;
  cfg.table_ = table;
  for (const auto& s : table) {
    OTA_ASSIGN_OR_RETURN(std::string v, check(s, s.default_value, "the built-in default"));
    cfg.values_[std::string(s.key)] = Value{v, Origin::kDefault, "default"};
  }

  if (sources.file) {
    const auto& [path, text] = *sources.file;
    if (text.size() > kMaxFile) return invalid_argument("config file " + path + " is larger than 1 MiB");
    int line_no = 0;
    for (std::string_view line : split(text, '\n')) {
      ++line_no;
      std::string where = path + ":" + std::to_string(line_no);
      if (line.size() > kMaxLine) return invalid_argument("config file " + where + ": line longer than 4096 bytes");
      line = trim(line);
      if (line.empty() || line.front() == '#') continue;
      size_t eq = line.find('=');
      if (eq == std::string_view::npos) {
        return invalid_argument("config file " + where + ": expected `key = value`, got \"" +
                                std::string(line.substr(0, 80)) + "\"");
      }
      std::string key(trim(line.substr(0, eq)));
      std::string_view raw = trim(line.substr(eq + 1));
      if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') raw = raw.substr(1, raw.size() - 2);
      const Setting* s = find_setting(table, key);
      if (s != nullptr && !s->in_file) {
        return invalid_argument("config file " + where + ": \"" + key + "\" can only be given on the command line (" +
                                flag_name(key) + ") or as " + env_name(key));
      }
      if (s == nullptr) {
        return invalid_argument("config file " + where + ": unknown setting \"" + key + "\"" +
                                suggestion(table, key, false));
      }
      OTA_ASSIGN_OR_RETURN(std::string v, check(*s, raw, where));
      cfg.values_[key] = Value{v, Origin::kFile, where};
    }
  }

  for (const auto& [name, raw] : sources.env) {
    if (!starts_with(name, "OTA_")) continue;
    const Setting* match = nullptr;
    for (const auto& s : table) {
      if (env_name(s.key) == name) match = &s;
    }
    // Unknown OTA_* variables are ignored: the environment is shared with other programs and
    // other otaserver commands, so refusing them would make every command fragile.
    if (match == nullptr) continue;
    OTA_ASSIGN_OR_RETURN(std::string v, check(*match, raw, "env " + name));
    cfg.values_[std::string(match->key)] = Value{v, Origin::kEnv, "env " + name};
  }

  for (const auto& [key, raw] : sources.flags) {
    const Setting* s = find_setting(table, key);
    if (s == nullptr) return invalid_argument("unknown flag " + flag_name(key) + suggestion(table, key, true));
    OTA_ASSIGN_OR_RETURN(std::string v, check(*s, raw, "flag " + flag_name(key)));
    cfg.values_[key] = Value{v, Origin::kFlag, "flag " + flag_name(key)};
  }
  return cfg;
}

const Value& Config::value(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end()) {
    static const Value kMissing{};
    return kMissing;  // a programming error: the key is not in the table (caught by tests)
  }
  return it->second;
}

const std::string& Config::str(std::string_view key) const { return value(key).text; }
uint64_t Config::uint(std::string_view key) const { return parse_uint(value(key).text).value_or(0); }
bool Config::flag(std::string_view key) const { return value(key).text == "true"; }

std::string Config::describe() const {
  std::string out;
  for (const auto& s : table_) {
    const Value& v = value(s.key);
    std::string line = std::string(s.key) + " = " + (v.text.empty() ? "\"\"" : v.text);
    if (line.size() < 40) line.resize(40, ' ');
    out += line + "  # " + v.source + "\n";
  }
  return out;
}

Result<ParsedArgs> parse_args(std::span<const Setting> table, std::span<const std::string> args) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      for (++i; i < args.size(); ++i) out.positional.push_back(args[i]);
      break;
    }
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a == "--print-config") {
      out.print_config = true;
      continue;
    }
    if (!starts_with(a, "--")) {
      if (starts_with(a, "-") && a.size() > 1) return invalid_argument("unknown option " + a + "; see --help");
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    std::string key;
    for (char c : name) key += c == '-' ? '_' : c;
    const Setting* s = find_setting(table, key);
    if (s == nullptr) return invalid_argument("unknown flag --" + name + suggestion(table, key, true));
    if (inline_value) {
      out.flags.emplace_back(key, *inline_value);
    } else if (s->type == Type::kBool) {
      // `--flag false` reads naturally; a following word that is a boolean is the flag's value.
      if (i + 1 < args.size() && parse_bool(args[i + 1])) {
        out.flags.emplace_back(key, args[++i]);
      } else {
        out.flags.emplace_back(key, "true");
      }
    } else if (i + 1 < args.size()) {
      out.flags.emplace_back(key, args[++i]);
    } else {
      return invalid_argument("flag --" + name + " needs a value: " + describe_type(*s));
    }
  }
  return out;
}

std::string describe_flags(std::span<const Setting> table) {
  std::string out;
  for (const auto& s : table) {
    std::string head = "  " + flag_name(s.key);
    if (s.type != Type::kBool) {
      std::string meta = s.type == Type::kHostPort ? "HOST:PORT"
                         : s.type == Type::kUInt   ? "N"
                         : s.type == Type::kUrl    ? "URL"
                         : s.type == Type::kPath   ? "PATH"
                                                   : "VALUE";
      head += " " + meta;
    }
    out += head + "\n      " + std::string(s.help) + "\n      env " + env_name(s.key);
    if (!s.default_value.empty()) out += ", default " + std::string(s.default_value);
    if (s.type == Type::kChoice) out += ", one of " + std::string(s.choices);
    out += "\n";
  }
  return out;
}

std::string describe_markdown(std::span<const Setting> table) {
  std::string out = "| file key | flag | environment | default | what it does |\n|---|---|---|---|---|\n";
  for (const auto& s : table) {
    std::string def = s.default_value.empty() ? "(unset)" : "`" + std::string(s.default_value) + "`";
    std::string help(s.help);
    if (s.type == Type::kChoice) help += " (" + std::string(s.choices) + ")";
    size_t bar = 0;
    while ((bar = help.find('|', bar)) != std::string::npos) {
      help.replace(bar, 1, "\\|");
      bar += 2;
    }
    out += "| " + (s.in_file ? "`" + std::string(s.key) + "`" : std::string("—")) + " | `" + flag_name(s.key) +
           "` | `" + env_name(s.key) + "` | " + def + " | " + help + " |\n";
  }
  return out;
}

}  // namespace ota::config
