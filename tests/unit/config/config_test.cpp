#include "config/config.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <vector>

namespace ota::config {
namespace {

// One setting of each type, shaped like the server's table.
constexpr Setting kTable[] = {
    {.key = "name", .type = Type::kString, .default_value = "otaserver", .help = "Display name."},
    {.key = "data", .type = Type::kPath, .default_value = "/var/lib/otaserver", .help = "Data directory."},
    {.key = "workers", .type = Type::kUInt, .default_value = "4", .help = "Worker threads.", .min = 1, .max = 64},
    {.key = "verbose", .type = Type::kBool, .default_value = "false", .help = "Log every request."},
    {.key = "listen", .type = Type::kHostPort, .default_value = "127.0.0.1:8080", .help = "Address to bind."},
    {.key = "public_url", .type = Type::kUrl, .default_value = "", .help = "Base URL clients use."},
    {.key = "log_format",
     .type = Type::kChoice,
     .default_value = "text",
     .help = "Log line format.",
     .choices = "text|json"},
    {.key = "config", .type = Type::kPath, .default_value = "", .help = "Config file to read.", .in_file = false},
};

Sources file_source(std::string text, std::string path = "/etc/ota.conf") {
  Sources s;
  s.file.emplace(std::move(path), std::move(text));
  return s;
}

Result<Config> load(const Sources& s) { return Config::load(kTable, s); }

// The error message of loading `s`, or a marker when it unexpectedly succeeded.
std::string load_error(const Sources& s, ErrorCode expected = ErrorCode::kInvalidArgument) {
  Result<Config> r = load(s);
  if (r) return "<loaded without error>";
  EXPECT_EQ(r.error().code(), expected) << r.error().message();
  return r.error().message();
}

std::string flag_error(const std::string& key, const std::string& value) {
  Sources s;
  s.flags.emplace_back(key, value);
  return load_error(s);
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Result<ParsedArgs> parse(std::vector<std::string> args) { return parse_args(kTable, args); }

TEST(Config, UsesDefaultsWithoutSources) {
  Result<Config> c = load({});
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("name"), "otaserver");
  EXPECT_EQ(c->str("data"), "/var/lib/otaserver");
  EXPECT_EQ(c->uint("workers"), 4u);
  EXPECT_FALSE(c->flag("verbose"));
  EXPECT_EQ(c->str("listen"), "127.0.0.1:8080");
  EXPECT_EQ(c->str("public_url"), "");
  EXPECT_EQ(c->str("log_format"), "text");
  EXPECT_EQ(c->value("workers").origin, Origin::kDefault);
  EXPECT_EQ(c->value("workers").source, "default");
}

TEST(Config, PrecedenceIsDefaultThenFileThenEnvThenFlag) {
  Sources s = file_source("workers = 8\nlisten = 0.0.0.0:9000\nname = from-file\n");
  s.env = {{"OTA_WORKERS", "16"}, {"OTA_NAME", "from-env"}, {"OTA_VERBOSE", "yes"}};
  s.flags = {{"workers", "32"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();

  EXPECT_EQ(c->uint("workers"), 32u);
  EXPECT_EQ(c->value("workers").origin, Origin::kFlag);
  EXPECT_EQ(c->value("workers").source, "flag --workers");

  EXPECT_EQ(c->str("name"), "from-env");
  EXPECT_EQ(c->value("name").origin, Origin::kEnv);
  EXPECT_EQ(c->value("name").source, "env OTA_NAME");

  EXPECT_TRUE(c->flag("verbose"));
  EXPECT_EQ(c->value("verbose").origin, Origin::kEnv);

  EXPECT_EQ(c->str("listen"), "0.0.0.0:9000");
  EXPECT_EQ(c->value("listen").origin, Origin::kFile);
  EXPECT_EQ(c->value("listen").source, "/etc/ota.conf:2");

  EXPECT_EQ(c->str("log_format"), "text");
  EXPECT_EQ(c->value("log_format").origin, Origin::kDefault);
}

TEST(Config, LaterFlagOfTheSameKeyWins) {
  Sources s;
  s.flags = {{"workers", "2"}, {"workers", "3"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->uint("workers"), 3u);
}

TEST(Config, UnknownFileKeyNamesTheLineAndSuggestsANearMiss) {
  std::string m = load_error(file_source("# settings\nname = x\nlisen = 0.0.0.0:1\n", "/tmp/ota.conf"));
  EXPECT_TRUE(contains(m, "/tmp/ota.conf:3")) << m;
  EXPECT_TRUE(contains(m, "lisen")) << m;
  EXPECT_TRUE(contains(m, "did you mean listen?")) << m;
}

// Regression: a command-line-only key in the file was reported as unknown with a self-suggestion.
TEST(Config, CommandLineOnlyKeyInTheFileSaysWhereItBelongs) {
  std::string m = load_error(file_source("config = /etc/other.conf\n"));
  EXPECT_TRUE(contains(m, "can only be given on the command line (--config)")) << m;
  EXPECT_FALSE(contains(m, "did you mean")) << m;
}

// Regression: URLs without a host were accepted.
TEST(Config, UrlWithoutAHostIsRefused) {
  for (const char* url : {"https:///path", "https://:8080", "http://"}) {
    std::string m = load_error(file_source(std::string("public_url = ") + url + "\n"));
    EXPECT_TRUE(contains(m, "public_url")) << url << ": " << m;
  }
  auto ok = load(file_source("public_url = HTTPS://Ota.Example.com/\n"));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->str("public_url"), "https://Ota.Example.com");
}

TEST(Config, UnknownFileKeyFarFromAnyKnownKeyHasNoSuggestion) {
  std::string m = load_error(file_source("completely_unrelated = 1\n"));
  EXPECT_TRUE(contains(m, "/etc/ota.conf:1")) << m;
  EXPECT_FALSE(contains(m, "did you mean")) << m;
}

TEST(Config, CommandLineOnlySettingIsRejectedInTheFile) {
  std::string m = load_error(file_source("config = /etc/other.conf\n"));
  EXPECT_TRUE(contains(m, "/etc/ota.conf:1")) << m;
  EXPECT_TRUE(contains(m, "\"config\" can only be given on the command line")) << m;
}

TEST(Config, CommandLineOnlySettingIsAcceptedAsAFlag) {
  Sources s;
  s.flags = {{"config", "/etc/other.conf"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("config"), "/etc/other.conf");
}

TEST(Config, FileLineWithoutEqualsSignIsAnError) {
  std::string m = load_error(file_source("\nworkers 8\n"));
  EXPECT_TRUE(contains(m, "/etc/ota.conf:2")) << m;
  EXPECT_TRUE(contains(m, "key = value")) << m;
}

TEST(Config, UnknownFlagIsAnErrorWithSuggestion) {
  std::string m = flag_error("workrs", "3");
  EXPECT_TRUE(contains(m, "unknown flag --workrs")) << m;
  EXPECT_TRUE(contains(m, "did you mean --workers?")) << m;
}

TEST(Config, UIntOutsideItsRangeOrMalformedIsRejected) {
  for (const char* bad : {"0", "65", "-1", "abc", "", " 4", "4.0", "18446744073709551616"}) {
    std::string m = flag_error("workers", bad);
    EXPECT_TRUE(contains(m, "invalid value for workers")) << bad << ": " << m;
    EXPECT_TRUE(contains(m, "a whole number from 1 to 64")) << bad << ": " << m;
  }
}

TEST(Config, UIntAtItsBoundsIsAccepted) {
  for (const char* good : {"1", "64"}) {
    Sources s;
    s.flags = {{"workers", good}};
    Result<Config> c = load(s);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->str("workers"), good);
  }
}

TEST(Config, BoolAcceptsCommonSpellingsAndNormalizesThem) {
  for (const char* yes : {"true", "TRUE", "1", "yes", "on", "On"}) {
    Sources s;
    s.env = {{"OTA_VERBOSE", yes}};
    Result<Config> c = load(s);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->str("verbose"), "true") << yes;
  }
  for (const char* no : {"false", "0", "no", "off", "OFF"}) {
    Sources s;
    s.env = {{"OTA_VERBOSE", no}};
    Result<Config> c = load(s);
    ASSERT_TRUE(c) << c.error().message();
    EXPECT_EQ(c->str("verbose"), "false") << no;
  }
  std::string m = flag_error("verbose", "maybe");
  EXPECT_TRUE(contains(m, "true or false")) << m;
}

TEST(Config, HostPortRejectsMissingPortOutOfRangePortAndBadHosts) {
  for (const char* bad : {"localhost", "1.2.3.4:70000", ":8080", "host:", "host:port", "::1:8080", "[::1]8080",
                          "[::1]", "[]:80", "a b:80", "host:-1"}) {
    std::string m = flag_error("listen", bad);
    EXPECT_TRUE(contains(m, "invalid value for listen")) << bad << ": " << m;
    EXPECT_TRUE(contains(m, "HOST:PORT")) << bad << ": " << m;
  }
}

TEST(Config, HostPortAcceptsNamesAddressesIpv6AndPortZero) {
  for (const char* good : {"localhost:80", "0.0.0.0:0", "127.0.0.1:65535", "[::1]:8080", "[::]:443",
                           "ota.example.com:8443"}) {
    Sources s;
    s.flags = {{"listen", good}};
    Result<Config> c = load(s);
    ASSERT_TRUE(c) << good << ": " << c.error().message();
    EXPECT_EQ(c->str("listen"), good);
  }
}

TEST(Config, UrlRequiresAnHttpSchemeAndAHost) {
  for (const char* bad : {"ota.example.com", "ftp://ota.example.com", "https://", "http:///", "https://a b",
                          "https://host/?q", "//ota.example.com"}) {
    std::string m = flag_error("public_url", bad);
    EXPECT_TRUE(contains(m, "invalid value for public_url")) << bad << ": " << m;
  }
}

TEST(Config, UrlDropsTrailingSlashes) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://ota.example.com/", "https://ota.example.com"},
      {"http://10.0.0.2:8080/ota//", "http://10.0.0.2:8080/ota"},
      {"https://ota.example.com", "https://ota.example.com"},
  };
  for (const auto& [in, out] : cases) {
    Sources s;
    s.flags = {{"public_url", in}};
    Result<Config> c = load(s);
    ASSERT_TRUE(c) << in << ": " << c.error().message();
    EXPECT_EQ(c->str("public_url"), out);
  }
}

TEST(Config, ChoiceMustBeOneOfTheListedWords) {
  for (const char* bad : {"xml", "JSON", "", "text|json", "tex"}) {
    std::string m = flag_error("log_format", bad);
    EXPECT_TRUE(contains(m, "one of text|json")) << bad << ": " << m;
  }
  Sources s;
  s.flags = {{"log_format", "json"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("log_format"), "json");
}

TEST(Config, ControlCharactersAreRejectedInEveryType) {
  for (const char* key : {"name", "data", "listen", "public_url"}) {
    std::string m = flag_error(key, std::string("ab\x01") + "c");
    EXPECT_TRUE(contains(m, "control character")) << key << ": " << m;
  }
  std::string tab = flag_error("name", "a\tb");
  EXPECT_TRUE(contains(tab, "control character")) << tab;
  std::string newline = flag_error("name", "a\nb");
  EXPECT_TRUE(contains(newline, "control character")) << newline;
}

TEST(Config, EmptyPathIsRejectedWhenTheSettingHasADefault) {
  std::string m = flag_error("data", "");
  EXPECT_TRUE(contains(m, "is empty")) << m;
}

TEST(Config, InvalidValueNamesItsSource) {
  Sources from_env;
  from_env.env = {{"OTA_WORKERS", "many"}};
  std::string env_m = load_error(from_env);
  EXPECT_TRUE(contains(env_m, "env OTA_WORKERS")) << env_m;
  EXPECT_TRUE(contains(env_m, "\"many\"")) << env_m;

  std::string file_m = load_error(file_source("name = ok\nworkers = many\n"));
  EXPECT_TRUE(contains(file_m, "/etc/ota.conf:2")) << file_m;

  std::string flag_m = flag_error("workers", "many");
  EXPECT_TRUE(contains(flag_m, "flag --workers")) << flag_m;
}

TEST(Config, EnvironmentVariablesOutsideTheTableAreIgnored) {
  Sources s;
  s.env = {{"PATH", "/usr/bin"},        {"OTA_UNKNOWN", "\x01garbage"}, {"OTA_", ""},
           {"ota_workers", "nonsense"}, {"OTA_WORKERSX", "nonsense"},   {"HOME", "/root"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->uint("workers"), 4u);
  EXPECT_EQ(c->value("workers").origin, Origin::kDefault);
}

TEST(Config, LineOver4096BytesIsRejected) {
  const std::string at_limit = "#" + std::string(4095, 'x');
  Result<Config> ok_file = load(file_source(at_limit + "\nworkers = 5\n"));
  ASSERT_TRUE(ok_file) << ok_file.error().message();
  EXPECT_EQ(ok_file->uint("workers"), 5u);

  std::string m = load_error(file_source("workers = 5\nname = " + std::string(4090, 'x') + "\n"));
  EXPECT_TRUE(contains(m, "/etc/ota.conf:2")) << m.substr(0, 200);
  EXPECT_TRUE(contains(m, "4096")) << m.substr(0, 200);
}

TEST(Config, FileLargerThanOneMebibyteIsRejected) {
  std::string big;
  while (big.size() <= (1u << 20)) big += "# " + std::string(100, 'x') + "\n";
  std::string m = load_error(file_source(big));
  EXPECT_TRUE(contains(m, "larger than 1 MiB")) << m.substr(0, 200);
}

TEST(Config, FileWithCommentsBlankLinesQuotesAndCrlf) {
  const std::string text =
      "# otaserver configuration\r\n"
      "\r\n"
      "   \t\n"
      "  # indented comment\n"
      "name = \"hello world\"\r\n"
      "  workers=8  \n"
      "verbose = yes\n"
      "listen = \"[::1]:9000\"\n"
      "public_url = \"\"\n"
      "log_format=json";  // no trailing newline
  Result<Config> c = load(file_source(text));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("name"), "hello world");
  EXPECT_EQ(c->value("name").source, "/etc/ota.conf:5");
  EXPECT_EQ(c->uint("workers"), 8u);
  EXPECT_TRUE(c->flag("verbose"));
  EXPECT_EQ(c->str("listen"), "[::1]:9000");
  EXPECT_EQ(c->str("public_url"), "");
  EXPECT_EQ(c->value("public_url").origin, Origin::kFile);
  EXPECT_EQ(c->str("log_format"), "json");
  EXPECT_EQ(c->value("log_format").source, "/etc/ota.conf:10");
}

TEST(Config, EqualsSignInsideAValueIsKept) {
  Result<Config> c = load(file_source("name = a=b\n"));
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("name"), "a=b");
}

TEST(Config, DescribeListsEveryKeyWithValueAndSource) {
  Sources s = file_source("listen = 0.0.0.0:9000\n");
  s.env = {{"OTA_VERBOSE", "on"}};
  s.flags = {{"workers", "7"}};
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  const std::string d = c->describe();
  for (const auto& setting : kTable) {
    EXPECT_TRUE(contains(d, std::string(setting.key) + " = ")) << setting.key << " missing from:\n" << d;
  }
  EXPECT_TRUE(contains(d, "workers = 7")) << d;
  EXPECT_TRUE(contains(d, "# flag --workers")) << d;
  EXPECT_TRUE(contains(d, "verbose = true")) << d;
  EXPECT_TRUE(contains(d, "# env OTA_VERBOSE")) << d;
  EXPECT_TRUE(contains(d, "listen = 0.0.0.0:9000")) << d;
  EXPECT_TRUE(contains(d, "# /etc/ota.conf:1")) << d;
  EXPECT_TRUE(contains(d, "public_url = \"\"")) << d;
  EXPECT_TRUE(contains(d, "# default")) << d;
  // Table order, so the output reads like the documentation.
  EXPECT_LT(d.find("name = "), d.find("workers = "));
  EXPECT_LT(d.find("workers = "), d.find("log_format = "));
}

TEST(FlagAndEnvNames, DeriveFromTheKey) {
  EXPECT_EQ(flag_name("public_url"), "--public-url");
  EXPECT_EQ(flag_name("listen"), "--listen");
  EXPECT_EQ(env_name("public_url"), "OTA_PUBLIC_URL");
  EXPECT_EQ(env_name("listen"), "OTA_LISTEN");
}

TEST(DescribeFlags, ListsEveryFlagWithEnvNameDefaultAndChoices) {
  const std::string d = describe_flags(kTable);
  for (const auto& setting : kTable) {
    EXPECT_TRUE(contains(d, flag_name(setting.key))) << setting.key << " missing from:\n" << d;
    EXPECT_TRUE(contains(d, "env " + env_name(setting.key))) << setting.key << " missing from:\n" << d;
    EXPECT_TRUE(contains(d, std::string(setting.help))) << setting.key << " missing from:\n" << d;
  }
  EXPECT_TRUE(contains(d, "--listen HOST:PORT")) << d;
  EXPECT_TRUE(contains(d, "--workers N")) << d;
  EXPECT_TRUE(contains(d, "--public-url URL")) << d;
  EXPECT_TRUE(contains(d, "default 127.0.0.1:8080")) << d;
  EXPECT_TRUE(contains(d, "one of text|json")) << d;
  EXPECT_FALSE(contains(d, "--verbose VALUE")) << d;
}

TEST(DescribeMarkdown, HasOneRowPerSettingWithEscapedChoices) {
  const std::string md = describe_markdown(kTable);
  EXPECT_TRUE(contains(md, "| file key | flag | environment | default | what it does |\n|---|---|---|---|---|\n"))
      << md;
  size_t rows = 0;
  for (size_t pos = 0; (pos = md.find("\n| ", pos)) != std::string::npos; ++pos) ++rows;
  EXPECT_EQ(rows, std::size(kTable)) << md;
  EXPECT_TRUE(contains(md, "| `workers` | `--workers` | `OTA_WORKERS` | `4` | Worker threads. |")) << md;
  EXPECT_TRUE(contains(md, "| `public_url` | `--public-url` | `OTA_PUBLIC_URL` | (unset) |")) << md;
  // A bare '|' in a cell would split the Markdown table.
  EXPECT_TRUE(contains(md, "Log line format. (text\\|json) |")) << md;
  // Command-line-only settings have no file key.
  EXPECT_TRUE(contains(md, "| \u2014 | `--config` |")) << md;
}

TEST(ParseArgs, AcceptsSpaceAndEqualsFormsAndBareBools) {
  Result<ParsedArgs> a = parse({"--listen", "0.0.0.0:1", "--workers=3", "--verbose", "--public-url=https://x.io/"});
  ASSERT_TRUE(a) << a.error().message();
  using Flags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(a->flags, (Flags{{"listen", "0.0.0.0:1"},
                             {"workers", "3"},
                             {"verbose", "true"},
                             {"public_url", "https://x.io/"}}));
  EXPECT_TRUE(a->positional.empty());
  EXPECT_FALSE(a->help);
  EXPECT_FALSE(a->print_config);
}

TEST(ParseArgs, BoolFlagTakesAFollowingBooleanWordAsItsValue) {
  Result<ParsedArgs> a = parse({"--verbose=false", "--verbose", "off", "--verbose", "extra", "--verbose"});
  ASSERT_TRUE(a) << a.error().message();
  using Flags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(a->flags, (Flags{{"verbose", "false"}, {"verbose", "off"}, {"verbose", "true"}, {"verbose", "true"}}));
  EXPECT_EQ(a->positional, (std::vector<std::string>{"extra"}));
}

TEST(ParseArgs, RecognizesHelpAndPrintConfig) {
  Result<ParsedArgs> long_help = parse({"--help"});
  ASSERT_TRUE(long_help) << long_help.error().message();
  EXPECT_TRUE(long_help->help);
  Result<ParsedArgs> short_help = parse({"-h"});
  ASSERT_TRUE(short_help) << short_help.error().message();
  EXPECT_TRUE(short_help->help);
  Result<ParsedArgs> print = parse({"--print-config", "--workers", "2"});
  ASSERT_TRUE(print) << print.error().message();
  EXPECT_TRUE(print->print_config);
  EXPECT_FALSE(print->help);
  EXPECT_EQ(print->flags.size(), 1u);
}

TEST(ParseArgs, DoubleDashEndsFlags) {
  Result<ParsedArgs> a = parse({"first", "--workers", "2", "--", "--not-a-flag", "-x", "--help"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->positional, (std::vector<std::string>{"first", "--not-a-flag", "-x", "--help"}));
  EXPECT_EQ(a->flags.size(), 1u);
  EXPECT_FALSE(a->help);
}

TEST(ParseArgs, NonBoolFlagWithoutValueIsAnError) {
  Result<ParsedArgs> a = parse({"--verbose", "--workers"});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(a.error().message(), "--workers needs a value")) << a.error().message();
}

TEST(ParseArgs, UnknownFlagIsAnErrorWithSuggestion) {
  Result<ParsedArgs> a = parse({"--lisen=0.0.0.0:1"});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(contains(a.error().message(), "unknown flag --lisen")) << a.error().message();
  EXPECT_TRUE(contains(a.error().message(), "did you mean --listen?")) << a.error().message();
}

TEST(ParseArgs, UnknownShortOptionIsAnError) {
  Result<ParsedArgs> a = parse({"-x"});
  ASSERT_FALSE(a);
  EXPECT_TRUE(contains(a.error().message(), "unknown option -x")) << a.error().message();
  Result<ParsedArgs> dash = parse({"-"});
  ASSERT_TRUE(dash) << dash.error().message();
  EXPECT_EQ(dash->positional, (std::vector<std::string>{"-"}));
}

TEST(ParseArgs, ParsedFlagsLoadAsFlagValues) {
  Result<ParsedArgs> a = parse({"--public-url", "https://ota.example.com/", "--log-format=json"});
  ASSERT_TRUE(a) << a.error().message();
  Sources s;
  s.flags = a->flags;
  Result<Config> c = load(s);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->str("public_url"), "https://ota.example.com");
  EXPECT_EQ(c->value("public_url").source, "flag --public-url");
  EXPECT_EQ(c->str("log_format"), "json");
}

}  // namespace
}  // namespace ota::config
