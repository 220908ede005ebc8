#include "expo_test_support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cctype>
#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "codec/compress.h"
#include "crypto/digest.h"
#include "raw_http.h"

extern char** environ;

namespace ota::testing::expo {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) { return lower(a) == lower(b); }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::vector<std::string_view> split_lines(std::string_view block) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= block.size()) {
    size_t end = block.find("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(block.substr(start));
      break;
    }
    lines.push_back(block.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

std::optional<std::string> decode_chunked(std::string_view in) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    std::string size_text(in.substr(pos, eol - pos));
    size_t semi = size_text.find(';');
    if (semi != std::string::npos) size_text.resize(semi);
    size_t n = 0;
    try {
      n = std::stoul(size_text, nullptr, 16);
    } catch (...) {
      return std::nullopt;
    }
    pos = eol + 2;
    if (n == 0) return out;
    if (pos + n + 2 > in.size()) return std::nullopt;
    out.append(in.substr(pos, n));
    pos += n + 2;
  }
}

// Runs argv[0] (looked up in PATH) with stdout and stderr into files; returns the exit code.
int run_program(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

const std::regex& uuid_re() {
  static const std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return re;
}

}  // namespace

// ---- raw HTTP ------------------------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  std::string n = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == n) return v;
  }
  return std::nullopt;
}

size_t HttpResponse::header_count(std::string_view name) const {
  std::string n = lower(name);
  return static_cast<size_t>(
      std::count_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == n; }));
}

HttpResponse http_request(int port, std::string_view method, std::string_view target, const Headers& headers,
                          std::string_view body) {
  HttpResponse res;
  RawConnection c(port);
  if (!c.connected()) return res;
  std::string req;
  req.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  bool has_host = false, has_connection = false;
  for (const auto& [n, v] : headers) {
    req += n + ": " + v + "\r\n";
    has_host |= iequals(n, "host");
    has_connection |= iequals(n, "connection");
  }
  if (!has_host) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  if (!has_connection) req += "Connection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req.append(body);
  if (!c.send_all(req)) return res;
  std::string raw = c.read_until_close(std::chrono::seconds(20));

  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    res.head = raw.substr(0, 2000);
    return res;
  }
  res.head = raw.substr(0, end);
  auto lines = split_lines(res.head);
  if (lines.empty() || !lines[0].starts_with("HTTP/1.") || lines[0].size() < 12) return res;
  try {
    res.status = std::stoi(std::string(lines[0].substr(9, 3)));
  } catch (...) {
    return res;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) return res;
    res.headers.emplace_back(lower(lines[i].substr(0, colon)), std::string(trim_ows(lines[i].substr(colon + 1))));
  }
  std::string rest = raw.substr(end + 4);
  if (method == "HEAD" || res.status == 204 || res.status == 304 || res.status < 200) {
    res.body = std::move(rest);  // should be empty; kept so tests can see a body sent by mistake
  } else if (lower(res.header_or("transfer-encoding")).find("chunked") != std::string::npos) {
    auto decoded = decode_chunked(rest);
    if (!decoded) return res;
    res.body = std::move(*decoded);
  } else if (auto cl = res.header("content-length")) {
    size_t n = std::stoul(*cl);
    if (rest.size() < n) return res;
    res.body = rest.substr(0, n);
  } else {
    res.body = std::move(rest);
  }
  res.ok = true;
  return res;
}

std::optional<std::string> decoded_body(const HttpResponse& res) {
  auto coding = res.header("content-encoding");
  if (!coding || lower(*coding) == "identity") return res.body;
  constexpr size_t kMax = size_t{64} << 20;
  if (lower(*coding) == "gzip") return codec::gunzip(res.body, kMax);
  if (lower(*coding) == "br") return codec::unbrotli(res.body, kMax);
  return std::nullopt;
}

Headers with(Headers h, std::string name, std::string value) {
  h = without(std::move(h), name);
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

Headers without(Headers h, std::string_view name) {
  std::erase_if(h, [&](const auto& p) { return iequals(p.first, name); });
  return h;
}

Headers device(std::string_view platform, std::optional<int> protocol) {
  Headers h = {
      {"Accept", std::string(kClientAccept)},   {"Accept-Encoding", "zstd, br, gzip"},  // Android SDK 57 (§1.3)
      {"Expo-Platform", std::string(platform)}, {"Expo-Runtime-Version", "1.0.0"},     {"Expo-API-Version", "1"},
      {"Expo-Updates-Environment", "BARE"},     {"Expo-JSON-Error", "true"},
  };
  if (protocol) h.emplace_back("Expo-Protocol-Version", std::to_string(*protocol));
  return h;
}

// ---- multipart -------------------------------------------------------------------------------------

std::optional<std::string> Part::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return std::nullopt;
}

const Part* Multipart::find(std::string_view name) const {
  for (const auto& p : parts) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::optional<Multipart> parse_multipart(std::string_view content_type, std::string_view body, std::string& error) {
  auto fail = [&](std::string m) -> std::optional<Multipart> {
    error = std::move(m);
    return std::nullopt;
  };
  // content-type: multipart/mixed; boundary=B
  size_t semi = content_type.find(';');
  if (lower(trim_ows(content_type.substr(0, semi))) != "multipart/mixed") {
    return fail("content-type is not multipart/mixed: " + std::string(content_type));
  }
  std::optional<std::string> boundary;
  while (semi != std::string_view::npos) {
    size_t next = content_type.find(';', semi + 1);
    std::string_view param =
        trim_ows(content_type.substr(semi + 1, next == std::string_view::npos ? next : next - semi - 1));
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && lower(trim_ows(param.substr(0, eq))) == "boundary") {
      if (boundary) return fail("two boundary parameters");
      boundary = std::string(trim_ows(param.substr(eq + 1)));
    }
    semi = next;
  }
  if (!boundary) return fail("content-type has no boundary parameter (C34)");
  const std::string& b = *boundary;
  if (b.empty() || b.size() > 70 || !std::all_of(b.begin(), b.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
      })) {
    return fail("boundary must be 1-70 characters of [A-Za-z0-9-] (C34): " + b);
  }
  const std::string delim = "--" + b;
  if (!body.starts_with(delim + "\r\n")) return fail("body does not start with \"--B\\r\\n\" (C35)");
  const std::string close = "\r\n" + delim + "--\r\n";
  if (!body.ends_with(close)) return fail("body does not end with \"\\r\\n--B--\\r\\n\" (C36)");

  // Every occurrence of --B is a delimiter: at offset 0 or after CRLF, followed by CRLF, or by
  // "--" CRLF at the very end (C37: no part body contains "\r\n--B").
  std::vector<size_t> starts;  // offsets of "--B" of each delimiter, the close delimiter last
  for (size_t pos = body.find(delim); pos != std::string_view::npos; pos = body.find(delim, pos + 1)) {
    if (pos != 0 && (pos < 2 || body.substr(pos - 2, 2) != "\r\n")) {
      return fail("\"--B\" at offset " + std::to_string(pos) + " is not preceded by CRLF");
    }
    std::string_view after = body.substr(pos + delim.size());
    if (after.starts_with("\r\n")) {
      starts.push_back(pos);
    } else if (after == "--\r\n") {
      starts.push_back(pos);
      break;
    } else {
      return fail("\"--B\" at offset " + std::to_string(pos) +
                  " is followed by neither CRLF nor \"--\" CRLF at the end");
    }
  }
  if (starts.size() < 2 || starts.back() + close.size() - 2 != body.size()) return fail("delimiters out of place");

  Multipart out;
  out.boundary = b;
  for (size_t i = 0; i + 1 < starts.size(); ++i) {
    size_t begin = starts[i] + delim.size() + 2;
    size_t end = starts[i + 1] - 2;  // the CRLF before the next delimiter belongs to it
    if (end < begin) return fail("part " + std::to_string(i) + " overlaps its delimiter");
    std::string_view raw = body.substr(begin, end - begin);
    size_t blank = raw.find("\r\n\r\n");
    if (raw.starts_with("\r\n")) return fail("part " + std::to_string(i) + " has no headers");
    if (blank == std::string_view::npos)
      return fail("part " + std::to_string(i) + " has no blank line after its headers");
    Part part;
    for (std::string_view line : split_lines(raw.substr(0, blank))) {
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0)
        return fail("malformed part header line: " + std::string(line));
      std::string_view name = line.substr(0, colon);
      if (!std::all_of(name.begin(), name.end(), is_tchar))
        return fail("part header name is not a token: " + std::string(name));
      if (lower(name) != name) return fail("part header name is not lower-case (C39): " + std::string(name));
      if (part.header(name)) return fail("part header written twice: " + std::string(name));
      part.headers.emplace_back(std::string(name), std::string(trim_ows(line.substr(colon + 1))));
    }
    part.body = std::string(raw.substr(blank + 4));
    auto disposition = part.header("content-disposition");
    if (!disposition) return fail("part " + std::to_string(i) + " has no content-disposition (C38)");
    static const std::regex disp_re(R"re(^([A-Za-z-]+)\s*;\s*name="([^"]*)"\s*$)re");
    std::smatch m;
    std::string d = *disposition;
    if (!std::regex_match(d, m, disp_re)) return fail("content-disposition is not `TYPE; name=\"…\"`: " + d);
    part.disposition_type = lower(m[1].str());
    part.name = m[2].str();
    out.parts.push_back(std::move(part));
  }
  return out;
}

// ---- a manifest answer -------------------------------------------------------------------------------

bool ExpoAnswer::is_multipart() const { return lower(http.header_or("content-type")).starts_with("multipart/"); }

json ExpoAnswer::part_json(std::string_view name) const {
  const Part* p = part(name);
  if (p == nullptr) return nullptr;
  json j = json::parse(p->body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

json ExpoAnswer::json_body() const {
  json j = json::parse(body, nullptr, false);
  return j.is_discarded() ? json(nullptr) : j;
}

ExpoAnswer parse_answer(HttpResponse res) {
  ExpoAnswer a;
  a.http = std::move(res);
  if (auto d = decoded_body(a.http)) {
    a.body = std::move(*d);
    a.decoded = true;
  }
  if (a.decoded && a.is_multipart() && !a.body.empty()) {
    a.multipart = parse_multipart(a.http.header_or("content-type"), a.body, a.multipart_error);
  }
  return a;
}

// ---- digests and signatures ----------------------------------------------------------------------

std::string sha256_base64url(std::string_view bytes) { return crypto::sha256(bytes).base64url(); }
std::string md5_hex(std::string_view bytes) { return crypto::md5_hex(bytes); }

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<std::string> strict_base64_decode(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  if (text.ends_with("==")) {
    pad = 2;
  } else if (text.ends_with("=")) {
    pad = 1;
  }
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    size_t v = kAlphabet.find(text[i]);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Canonical: the bits left over must be zero (and exactly what the padding implies).
  if (bits != static_cast<int>(pad) * 2) return std::nullopt;
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::optional<std::string> ExpoSignature::get(std::string_view key) const {
  for (const auto& [k, v] : members) {
    if (k == key) return v;
  }
  return std::nullopt;
}

std::optional<ExpoSignature> parse_expo_signature(std::string_view s, std::string& error) {
  ExpoSignature out;
  size_t pos = 0;
  auto fail = [&](std::string m) -> std::optional<ExpoSignature> {
    error = std::move(m) + " at offset " + std::to_string(pos) + " of: " + std::string(s);
    return std::nullopt;
  };
  auto skip_sp = [&] {
    while (pos < s.size() && s[pos] == ' ') ++pos;
  };
  skip_sp();
  while (true) {
    // key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
    size_t start = pos;
    if (pos >= s.size() || !((s[pos] >= 'a' && s[pos] <= 'z') || s[pos] == '*')) return fail("bad dictionary key");
    while (pos < s.size() && ((s[pos] >= 'a' && s[pos] <= 'z') || (s[pos] >= '0' && s[pos] <= '9') ||
                              std::string_view("_-.*").find(s[pos]) != std::string_view::npos)) {
      ++pos;
    }
    std::string key(s.substr(start, pos - start));
    if (pos >= s.size() || s[pos] != '=') return fail("member \"" + key + "\" is not an sf-string (bare boolean)");
    ++pos;
    if (pos >= s.size() || s[pos] != '"') return fail("member \"" + key + "\" is not an sf-string");
    ++pos;
    std::string value;
    bool closed = false;
    while (pos < s.size()) {
      char c = s[pos++];
      if (c == '\\') {
        if (pos >= s.size() || (s[pos] != '"' && s[pos] != '\\')) return fail("bad escape in sf-string");
        value.push_back(s[pos++]);
      } else if (c == '"') {
        closed = true;
        break;
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) {
        return fail("non-printable byte in sf-string");
      } else {
        value.push_back(c);
      }
    }
    if (!closed) return fail("unterminated sf-string");
    if (pos < s.size() && s[pos] == ';') return fail("member \"" + key + "\" has parameters");
    if (out.get(key)) return fail("member \"" + key + "\" appears twice");
    out.members.emplace_back(key, value);
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    if (pos == s.size()) return out;
    if (s[pos] != ',') return fail("expected ','");
    ++pos;
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
    if (pos == s.size()) return fail("trailing comma");
  }
}

OpensslVerdict openssl_verify(const fs::path& certificate, std::string_view body, std::string_view sig_base64) {
  OpensslVerdict v;
  auto sig = strict_base64_decode(sig_base64);
  if (!sig) {
    v.output = "sig is not strict standard base64";
    return v;
  }
  std::string pattern = "/tmp/otaserver-openssl-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    v.output = "mkdtemp failed";
    return v;
  }
  fs::path dir = pattern;
  if (!write_file(dir / "sig.bin", *sig) || !write_file(dir / "body.bin", body)) {
    v.output = "cannot write temporary files";
  } else {
    int rc = run_program({"openssl", "x509", "-pubkey", "-noout", "-in", certificate.string()}, dir / "pub.pem",
                         dir / "x509.err");
    if (rc != 0) {
      v.output = "openssl x509 failed: " + read_file(dir / "x509.err");
    } else {
      rc = run_program({"openssl", "dgst", "-sha256", "-verify", (dir / "pub.pem").string(), "-signature",
                        (dir / "sig.bin").string(), (dir / "body.bin").string()},
                       dir / "dgst.out", dir / "dgst.err");
      v.output = read_file(dir / "dgst.out") + read_file(dir / "dgst.err");
      v.verified = rc == 0 && v.output.find("Verified OK") != std::string::npos;
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return v;
}

bool expect_signature_verifies(const std::string& header_value, std::string_view body, const fs::path& certificate,
                               std::string_view keyid) {
  std::string error;
  auto sig = parse_expo_signature(header_value, error);
  EXPECT_TRUE(sig) << "C81: expo-signature is not a dictionary of sf-strings: " << error;
  if (!sig) return false;
  auto s = sig->get("sig");
  EXPECT_TRUE(s) << "C82: no sig member: " << header_value;
  if (!s) return false;
  if (auto alg = sig->get("alg")) {
    EXPECT_EQ(*alg, "rsa-v1_5-sha256") << "C82";
  }
  EXPECT_EQ(sig->get("keyid").value_or("root"), keyid) << "C83: keyid not echoed";
  auto raw = strict_base64_decode(*s);
  EXPECT_TRUE(raw) << "C84: sig is not strict standard base64 with padding: " << *s;
  if (!raw) return false;
  EXPECT_EQ(raw->size(), 256u) << "C84: an RSA-2048 signature has 256 bytes";
  auto verdict = openssl_verify(certificate, body, *s);
  EXPECT_TRUE(verdict.verified) << "C85: openssl does not verify the signature: " << verdict.output;
  return verdict.verified && raw->size() == 256;
}

// ---- protocol assertions ---------------------------------------------------------------------------

bool is_uuid(std::string_view s) { return std::regex_match(std::string(s), uuid_re()); }

bool is_created_at(std::string_view s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(std::string(s), re);
}

void expect_manifest_response_headers(const ExpoAnswer& a, int protocol) {
  const HttpResponse& r = a.http;
  EXPECT_EQ(r.header_count("expo-protocol-version"), 1u) << r.head;
  EXPECT_EQ(r.header_or("expo-protocol-version"), std::to_string(protocol)) << "C16/C17\n" << r.head;
  EXPECT_EQ(r.header_or("expo-sfv-version"), "0") << "C18\n" << r.head;
  auto cc = lower(r.header_or("cache-control"));
  EXPECT_TRUE(cc.find("max-age=0") != std::string::npos || cc.find("no-cache") != std::string::npos ||
              cc.find("no-store") != std::string::npos)
      << "C74: cache-control must be short: " << cc;
  EXPECT_EQ(cc.find("public"), std::string::npos) << "C74: a manifest is per device: " << cc;
  if (auto ce = r.header("content-encoding")) {
    EXPECT_TRUE(*ce == "gzip" || *ce == "br") << "C117: coding not offered by the request: " << *ce;
  }
  EXPECT_TRUE(a.decoded) << "body does not decode per its content-encoding";
  // C75/C76: otaserver sends neither header today; if it ever does they must be dictionaries.
  for (const char* name : {"expo-manifest-filters", "expo-server-defined-headers"}) {
    if (auto v = r.header(name)) {
      static const std::regex dict_re(R"(^([a-z*][a-z0-9_.*-]*=("[^"\\]*"|-?[0-9]+(\.[0-9]+)?|\?[01]))?)"
                                      R"((\s*,\s*[a-z*][a-z0-9_.*-]*=("[^"\\]*"|-?[0-9]+(\.[0-9]+)?|\?[01]))*$)");
      EXPECT_TRUE(std::regex_match(*v, dict_re)) << name << " is not an sf dictionary: " << *v;
    }
  }
}

void expect_valid_multipart(const ExpoAnswer& a) {
  EXPECT_EQ(a.http.header_count("content-type"), 1u) << a.http.head;
  ASSERT_TRUE(a.is_multipart()) << a.http.head;
  ASSERT_FALSE(a.body.empty()) << "C46: a multipart answer with zero parts must be 204 or an empty 200";
  ASSERT_TRUE(a.multipart) << "C35-C43 strict multipart parse failed: " << a.multipart_error;
  std::set<std::string> seen;
  for (const Part& p : a.multipart->parts) {
    SCOPED_TRACE("part " + p.name);
    EXPECT_TRUE(p.name == "manifest" || p.name == "directive" || p.name == "extensions" ||
                p.name == "certificate_chain")
        << "C38: unknown part name";
    EXPECT_TRUE(seen.insert(p.name).second) << "C38: part name repeated";
    EXPECT_TRUE(p.disposition_type == "form-data" || p.disposition_type == "inline") << "D3: " << p.disposition_type;
    std::string ct = p.header("content-type").value_or("");
    if (p.name == "manifest" || p.name == "directive") {
      EXPECT_TRUE(ct == "application/json" || ct == "application/json; charset=utf-8" || ct == "application/expo+json")
          << "C40/C42: " << ct;
    }
    if (p.name == "extensions") {
      EXPECT_EQ(ct, "application/json") << "C41";
      EXPECT_FALSE(p.header("expo-signature")) << "C87: the extensions part is never signed";
    }
    if (p.name != "certificate_chain") {
      // C43 and §2.4 rule 8: the part body is exactly one compact JSON object.
      json j = json::parse(p.body, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "C43: part body is not JSON: " << p.body.substr(0, 200);
      EXPECT_TRUE(j.is_object()) << "C43";
      EXPECT_EQ(p.body.find_first_of("\r\n"), std::string::npos) << "rule 8: no raw CR/LF in a JSON part";
      EXPECT_FALSE(p.body.empty() || std::isspace(static_cast<unsigned char>(p.body.front())) ||
                   std::isspace(static_cast<unsigned char>(p.body.back())))
          << "C43: the part body has surrounding bytes that are not JSON";
    }
  }
  EXPECT_FALSE(seen.count("manifest") && seen.count("directive")) << "C33: both a manifest and a directive";
  if (auto cl = a.http.header("content-length")) {
    EXPECT_EQ(std::stoul(*cl), a.http.body.size());
  }
}

void expect_manifest_shape(const json& m, std::string_view bytes, std::string_view runtime, std::string_view base_url) {
  ASSERT_TRUE(m.is_object()) << "manifest is not a JSON object";
  EXPECT_FALSE(bytes.starts_with("\xEF\xBB\xBF")) << "C67: BOM";
  // C67: nlohmann rejects invalid UTF-8 while parsing, so `m` parsing at all proves validity.
  ASSERT_TRUE(m.contains("id") && m["id"].is_string()) << "C47";
  EXPECT_TRUE(is_uuid(m["id"].get<std::string>())) << "C47: " << m["id"];
  ASSERT_TRUE(m.contains("createdAt") && m["createdAt"].is_string()) << "C50";
  EXPECT_TRUE(is_created_at(m["createdAt"].get<std::string>())) << "C50: " << m["createdAt"];
  ASSERT_TRUE(m.contains("runtimeVersion") && m["runtimeVersion"].is_string()) << "C52";
  EXPECT_EQ(m["runtimeVersion"].get<std::string>(), runtime) << "C27";

  static const std::regex key_re("^[0-9a-f]{32}$");
  static const std::regex hash_re("^[A-Za-z0-9_-]{43}$");
  std::set<std::string> keys;
  auto check_asset = [&](const json& a, bool launch) {
    SCOPED_TRACE(a.dump());
    ASSERT_TRUE(a.is_object()) << (launch ? "C53" : "C56");
    std::vector<const char*> fields = {"key", "hash", "contentType", "url"};
    if (!launch) fields.push_back("fileExtension");
    for (const char* f : fields) {
      ASSERT_TRUE(a.contains(f) && a[f].is_string()) << (launch ? "C53" : "C56") << ": missing string " << f;
    }
    std::string key = a["key"], hash = a["hash"], url = a["url"];
    EXPECT_TRUE(std::regex_match(key, key_re)) << "C58";
    EXPECT_TRUE(std::regex_match(hash, hash_re)) << "C60";
    EXPECT_TRUE(keys.insert(key).second) << "C59: duplicate key " << key;
    EXPECT_TRUE(url.starts_with(std::string(base_url) + "/")) << "C61/C116: " << url;
    if (launch) {
      EXPECT_EQ(a["contentType"], "application/javascript") << "C54";
    } else {
      std::string ext = a["fileExtension"];
      EXPECT_TRUE(ext.size() >= 2 && ext[0] == '.') << "C57: " << ext;
    }
  };
  ASSERT_TRUE(m.contains("launchAsset")) << "C53";
  check_asset(m["launchAsset"], true);
  ASSERT_TRUE(m.contains("assets") && m["assets"].is_array()) << "C55";
  for (const auto& a : m["assets"]) check_asset(a, false);

  ASSERT_TRUE(m.contains("metadata") && m["metadata"].is_object()) << "C62";
  for (const auto& [k, v] : m["metadata"].items()) EXPECT_TRUE(v.is_string()) << "C62: metadata." << k;
  ASSERT_TRUE(m.contains("extra") && m["extra"].is_object()) << "C63";
  EXPECT_FALSE(m["extra"].contains("expoGo")) << "C65";
}

void expect_directive(const json& d, std::string_view type) {
  ASSERT_TRUE(d.is_object()) << "C71";
  ASSERT_TRUE(d.contains("type") && d["type"].is_string()) << "C71";
  EXPECT_EQ(d["type"].get<std::string>(), type) << "C71";
  if (type == "rollBackToEmbedded") {
    ASSERT_TRUE(d.contains("parameters") && d["parameters"].is_object()) << "C72";
    ASSERT_TRUE(d["parameters"].contains("commitTime") && d["parameters"]["commitTime"].is_string()) << "C72";
    EXPECT_TRUE(is_created_at(d["parameters"]["commitTime"].get<std::string>())) << "C72";
  } else if (d.contains("parameters")) {
    EXPECT_TRUE(d["parameters"].is_object()) << "C73";
  }
}

void expect_json_error(const HttpResponse& r, int status) {
  EXPECT_EQ(r.status, status) << r.head << "\n" << r.body.substr(0, 500);
  EXPECT_TRUE(lower(r.header_or("content-type")).starts_with("application/json")) << "C77: " << r.head;
  auto body = decoded_body(r);
  ASSERT_TRUE(body) << "the error body does not decode per its content-encoding: " << r.head;
  json j = json::parse(*body, nullptr, false);
  EXPECT_TRUE(j.is_object() && j.contains("error") && j["error"].is_string()) << "C77: " << *body;
}

// ---- the fixture -------------------------------------------------------------------------------------

fs::path fixture_dir() { return OTA_EXPO_FIXTURE_DIR; }

ExpectedUpdate expected_from_export(std::string_view update, std::string_view platform) {
  const fs::path root = fixture_dir() / std::string(update);
  ExpectedUpdate out;
  json meta = json::parse(read_file(root / "metadata.json"), nullptr, false);
  if (meta.is_discarded() || !meta["fileMetadata"].contains(std::string(platform))) {
    ADD_FAILURE() << "no " << platform << " in " << root / "metadata.json";
    return out;
  }
  const json& p = meta["fileMetadata"][std::string(platform)];
  auto describe = [&](const std::string& path, const std::string& ext) {
    std::string bytes = read_file(root / path);
    EXPECT_FALSE(bytes.empty()) << root / path;
    return ExpectedAsset{path, sha256_base64url(bytes), md5_hex(bytes), ext};
  };
  out.launch = describe(p["bundle"].get<std::string>(), "");
  for (const auto& a : p["assets"])
    out.assets.push_back(describe(a["path"].get<std::string>(), a["ext"].get<std::string>()));
  return out;
}

std::string url_path(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  size_t slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
}

namespace {

constexpr std::string_view kSeedFormat = "expo-seed-v1";

std::string seed_key() {
  struct stat st {};
  if (::stat(OTA_SERVER_BINARY, &st) != 0) return "";
  return std::string(kSeedFormat) + "-" + std::to_string(st.st_size) + "-" + std::to_string(st.st_mtim.tv_sec) + "-" +
         std::to_string(st.st_mtim.tv_nsec);
}

std::string trim_all(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Publishes the seed. Returns an error message, empty on success.
std::string build_seed(const fs::path& dir, json& info) {
  const fs::path fixture = fixture_dir();
  if (!fs::is_regular_file(fixture / "update1" / "metadata.json"))
    return "the expo export fixture is missing at " + fixture.string();
  const fs::path data = dir / "data";
  auto server = ServerProcess::start(data);
  if (!server) return "the seed server did not start";
  auto tok = run_otaserver({"token", "create", "--data", data.string(), "--name", "e2e-admin", "--scope", "admin"});
  if (tok.exit_code != 0) return "token create failed: " + tok.err;
  const std::string token = trim_all(tok.out);
  info["token"] = token;
  const std::vector<std::pair<std::string, std::string>> env = {{"OTA_TOKEN", token}};
  auto cli = [&](std::vector<std::string> args) {
    args.push_back("--server");
    args.push_back(server->base_url());
    return run_otaserver(args, env, std::chrono::seconds(120));
  };
  for (const char* app : {"demo", "plain", "tokens", "tokens2", "rollback", "rollout", "iosonly"}) {
    auto r = cli({"app", "create", app});
    if (r.exit_code != 0) return std::string("app create ") + app + " failed: " + r.err;
  }
  fs::create_directories(dir / "certs");
  for (const char* app : {"demo", "tokens", "rollback"}) {
    auto r = cli({"keys", "generate", "--app", app, "--keyid", "main", "--out",
                  (dir / "certs" / (std::string(app) + ".pem")).string()});
    if (r.exit_code != 0) return std::string("keys generate ") + app + " failed: " + r.err;
  }
  auto publish = [&](const std::string& app, const std::string& update, std::vector<std::string> extra) -> std::string {
    std::vector<std::string> args = {"publish",
                                     "--dist",
                                     (fixture / update).string(),
                                     "--app",
                                     app,
                                     "--runtime-version",
                                     "1.0.0",
                                     "--expo-config",
                                     (fixture / "expoConfig.json").string(),
                                     "--message",
                                     app + " " + update};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = cli(args);
    if (r.exit_code != 0) return "publish " + app + " " + update + " failed: " + r.err;
    json p = parse_publish_output(r.out);
    if (p.is_null()) return "cannot parse publish output: " + r.out;
    info["apps"][app][update] = p;
    return "";
  };
  std::string e;
  if (!(e = publish("demo", "update1", {})).empty()) return e;
  for (const char* platform : {"ios", "android"}) {
    auto a = parse_answer(http_request(server->port(), "GET", "/apps/demo/manifest", device(platform)));
    const Part* m = a.part("manifest");
    if (a.status() != 200 || m == nullptr) return "cannot fetch demo's update1 manifest: " + a.http.head;
    info["demo_update1_manifest"][platform] = m->body;
  }
  if (!(e = publish("demo", "update2", {})).empty()) return e;
  if (!(e = publish("plain", "update1", {})).empty()) return e;
  if (!(e = publish("plain", "update2", {})).empty()) return e;
  if (!(e = publish("tokens", "update1", {})).empty()) return e;
  if (!(e = publish("tokens", "update2", {})).empty()) return e;
  if (!(e = publish("tokens2", "update1", {})).empty()) return e;
  if (!(e = publish("rollback", "update1", {})).empty()) return e;
  if (!(e = publish("rollback", "update2", {})).empty()) return e;
  if (!(e = publish("rollout", "update1", {})).empty()) return e;
  if (!(e = publish("rollout", "update2", {"--rollout-percent", "10"})).empty()) return e;
  if (!(e = publish("iosonly", "update1", {"--platform", "ios"})).empty()) return e;
  auto code = server->stop(SIGTERM, std::chrono::seconds(20));
  if (!code || *code != 0) return "the seed server did not stop cleanly";
  return "";
}

}  // namespace

json parse_publish_output(const std::string& out) {
  static const std::regex head_re(R"(published group ([0-9a-f-]{36}) at (\S+) \((\d+) files uploaded)");
  static const std::regex line_re(R"(^\s+(ios|android)\s+([0-9a-f-]{36})\s+runtime\s+(\S+)\s*$)");
  std::smatch m;
  if (!std::regex_search(out, m, head_re)) return nullptr;
  json p = {{"group", m[1].str()}, {"created_at", m[2].str()}, {"files_uploaded", std::stoi(m[3].str())}};
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_match(line, m, line_re)) p[m[1].str()] = m[2].str();
  }
  return p;
}

const Seed* seed() {
  static std::unique_ptr<Seed> cached;
  static bool tried = false;
  if (tried) {
    if (!cached) ADD_FAILURE() << "the seed could not be built (see the first failure)";
    return cached.get();
  }
  tried = true;
  const fs::path root = OTA_E2E_SEED_ROOT;
  const std::string key = seed_key();
  if (key.empty()) {
    ADD_FAILURE() << "cannot stat " << OTA_SERVER_BINARY;
    return nullptr;
  }
  const fs::path final_dir = root / key;
  std::error_code ec;
  fs::create_directories(root, ec);
  if (!fs::is_regular_file(final_dir / "seed.json")) {
    int fd = ::open((root / "lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (fd < 0 || ::flock(fd, LOCK_EX) != 0) {
      ADD_FAILURE() << "cannot lock " << (root / "lock");
      if (fd >= 0) ::close(fd);
      return nullptr;
    }
    if (!fs::is_regular_file(final_dir / "seed.json")) {
      // Under the lock nobody else builds: anything else here is stale (an older binary or an
      // interrupted build).
      std::vector<fs::path> stale;
      for (const auto& entry : fs::directory_iterator(root)) {
        if (entry.path().filename() != "lock") stale.push_back(entry.path());
      }
      for (const auto& p : stale) fs::remove_all(p, ec);
      const fs::path building = root / ("building-" + std::to_string(::getpid()));
      fs::create_directories(building);
      auto started = std::chrono::steady_clock::now();
      json info;
      std::string error = build_seed(building, info);
      if (!error.empty()) {
        ADD_FAILURE() << "building the seed failed: " << error << " (kept in " << building << ")";
        ::close(fd);
        return nullptr;
      }
      write_file(building / "seed.json", info.dump(2));
      fs::rename(building, final_dir, ec);
      if (ec) {
        ADD_FAILURE() << "cannot move the seed into place: " << ec.message();
        ::close(fd);
        return nullptr;
      }
      std::fprintf(stderr, "built the expo seed in %lld ms: %s\n",
                   static_cast<long long>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
                           .count()),
                   final_dir.c_str());
    }
    ::close(fd);
  }
  auto s = std::make_unique<Seed>();
  s->root = final_dir;
  s->info = json::parse(read_file(final_dir / "seed.json"), nullptr, false);
  if (s->info.is_discarded()) {
    ADD_FAILURE() << "unreadable " << final_dir / "seed.json";
    return nullptr;
  }
  cached = std::move(s);
  return cached.get();
}

std::unique_ptr<ExpoServer> ExpoServer::start() {
  std::unique_ptr<ExpoServer> s(new ExpoServer);
  s->seed_ = seed();
  if (s->seed_ == nullptr) return nullptr;
  s->tmp_ = std::make_unique<TempDir>();
  s->data_ = s->tmp_->path() / "data";
  std::error_code ec;
  fs::copy(s->seed_->root / "data", s->data_, fs::copy_options::recursive, ec);
  if (ec) {
    ADD_FAILURE() << "cannot copy the seed: " << ec.message();
    return nullptr;
  }
  s->proc_ = ServerProcess::start(s->data_);
  if (!s->proc_) return nullptr;
  return s;
}

ExpoServer::~ExpoServer() { proc_.reset(); }

fs::path ExpoServer::cert(std::string_view app) const { return seed_->root / "certs" / (std::string(app) + ".pem"); }

std::string ExpoServer::update_id(std::string_view app, std::string_view update, std::string_view platform) const {
  return seed_->info["apps"][std::string(app)][std::string(update)].value(std::string(platform), std::string());
}

std::string ExpoServer::created_at(std::string_view app, std::string_view update) const {
  return seed_->info["apps"][std::string(app)][std::string(update)].value("created_at", std::string());
}

std::string ExpoServer::demo_update1_manifest(std::string_view platform) const {
  return seed_->info["demo_update1_manifest"].value(std::string(platform), std::string());
}

ExpoAnswer ExpoServer::manifest(std::string_view app, const Headers& headers) const {
  return parse_answer(http_request(port(), "GET", "/apps/" + std::string(app) + "/manifest", headers));
}

HttpResponse ExpoServer::api(std::string_view method, std::string_view target, const json& body) const {
  return http_request(port(), method, target,
                      {{"Authorization", "Bearer " + token()}, {"Content-Type", "application/json"}}, body.dump());
}

CommandResult ExpoServer::cli(std::vector<std::string> args) const {
  args.push_back("--server");
  args.push_back(base_url());
  return run_otaserver(args, {{"OTA_TOKEN", token()}}, std::chrono::seconds(120));
}

bool ExpoServer::create_app(const std::string& name) {
  auto r = cli({"app", "create", name});
  EXPECT_EQ(r.exit_code, 0) << "app create " << name << ": " << r.err;
  return r.exit_code == 0;
}

fs::path ExpoServer::generate_key(const std::string& app, const std::string& keyid) {
  fs::path out = tmp_->path() / "certs" / (app + "-" + keyid + ".pem");
  auto r = cli({"keys", "generate", "--app", app, "--keyid", keyid, "--out", out.string()});
  EXPECT_EQ(r.exit_code, 0) << "keys generate " << app << ": " << r.err;
  EXPECT_TRUE(fs::is_regular_file(out));
  return r.exit_code == 0 ? out : fs::path();
}

json ExpoServer::publish(const std::string& app, const std::string& update, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "publish", "--dist",        (fixture_dir() / update).string(),           "--app", app, "--runtime-version",
      "1.0.0",   "--expo-config", (fixture_dir() / "expoConfig.json").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = cli(args);
  EXPECT_EQ(r.exit_code, 0) << "publish " << app << " " << update << ": " << r.err;
  if (r.exit_code != 0) return nullptr;
  json p = parse_publish_output(r.out);
  EXPECT_TRUE(p.is_object()) << "cannot parse the publish output: " << r.out;
  return p;
}

bool ExpoServer::restart() {
  auto code = proc_->stop(SIGTERM, std::chrono::seconds(20));
  if (!code || *code != 0) {
    ADD_FAILURE() << "the server did not stop cleanly";
    return false;
  }
  proc_.reset();
  proc_ = ServerProcess::start(data_);
  return proc_.has_value();
}

}  // namespace ota::testing::expo
