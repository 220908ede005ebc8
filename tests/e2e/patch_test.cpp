// Native hot-patch delivery end to end: the real otaserver binary on 127.0.0.1 port 0, patches
// published with `otaserver patch publish` exactly as CI would, and fetched as devices fetch them:
// the static URL GET /patches/{app}/{platform}/{version}/{build} (ETag, Last-Modified, Range,
// HEAD), per-app path templates, and the check endpoint POST /api/v1/patches/check with its
// single-use download links. Signatures are verified with the openssl command line tool against
// the PEM from `otaserver keys export-public`, i.e. as a client embedding that PEM would.
//
// Every test starts from an empty data directory (its own server; ctest runs each TEST in its own
// process) with app "A". Measured figures are printed with std::printf so they show up in the
// ctest log.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <latch>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/encoding.h"
#include "crypto/digest.h"
#include "raw_http.h"
#include "server_process.h"
#include "storage/metadata/database.h"
#include "support/temp_dir.h"
#include "test_util.h"

namespace ota::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::string_view kApp = "A";
constexpr uint64_t kDeviceSeed = 20260514;
constexpr size_t kDevices = 1000;

// A patch file: a readable JSPatch-like head and a tail of arbitrary bytes (NUL, 0xff, CR/LF),
// so any text-mode mangling on the way shows up.
std::string patch_bytes(const std::string& label, size_t tail, uint32_t seed) {
  std::string s = "// patch " + label +
                  "\ndefineClass('ViewController', {\n  viewDidLoad: function() {\n"
                  "    self.ORIGviewDidLoad();\n    console.log('" +
                  label + "');\n  }\n});\n";
  std::mt19937 rng(seed);
  for (size_t i = 0; i < tail; ++i) s.push_back(static_cast<char>(rng()));
  s.append("\r\n\0\xff end", 8);
  return s;
}

// Random version-4 UUIDs from a fixed seed: the same 1,000 "devices" on every run.
void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Runs a shell command; {exit code, stdout+stderr}.
std::pair<int, std::string> shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, trim(out)};
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// `openssl dgst -sha256 -verify PEM -signature SIG BODY`: its output ("Verified OK" or
// "Verification failure ...").
std::string openssl_verify(const fs::path& dir, const fs::path& pem, const std::string& signature_b64,
                           const std::string& body) {
  auto raw = base64_decode(signature_b64);
  if (!raw) return "<X-Patch-Signature is not standard base64: " + signature_b64 + ">";
  static int n = 0;
  const std::string tag = std::to_string(++n);
  write_file(dir / ("sig" + tag + ".bin"), *raw);
  write_file(dir / ("body" + tag + ".bin"), body);
  auto [code, out] = shell("openssl dgst -sha256 -verify " + quoted(pem) + " -signature " +
                           quoted(dir / ("sig" + tag + ".bin")) + " " + quoted(dir / ("body" + tag + ".bin")));
  return out + (code == 0 ? "" : " (exit " + std::to_string(code) + ")");
}

// One HTTP answer as a device sees it.
struct Http {
  bool ok = false;  // false when the connection failed
  int status = 0;
  httplib::Headers headers;  // case-insensitive
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  bool has(const std::string& name) const { return headers.find(name) != headers.end(); }
  json body_json() const { return json::parse(body, nullptr, false); }
  std::string describe() const {
    std::string s = "HTTP " + std::to_string(status) + (ok ? "" : " (no answer)") + "\n";
    for (const auto& [k, v] : headers) s += k + ": " + v + "\n";
    return s + (body.size() <= 400 ? body : body.substr(0, 400) + "...");
  }
};

Http to_http(const httplib::Result& r) {
  Http h;
  if (!r) return h;
  h.ok = true;
  h.status = r->status;
  h.headers = r->headers;
  h.body = r->body;
  return h;
}

httplib::Client make_client(int port, bool keep_alive = false) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(10, 0);
  c.set_keep_alive(keep_alive);
  // A POST goes out as two writes (head, body): without TCP_NODELAY each waits ~40 ms for the
  // server's delayed ACK.
  c.set_tcp_nodelay(true);
  return c;
}

std::string patch_path(std::string_view platform, std::string_view version, std::string_view build,
                       std::string_view app = kApp) {
  return "/patches/" + std::string(app) + "/" + std::string(platform) + "/" + std::string(version) + "/" +
         std::string(build);
}

// The path part of an absolute URL ("http://127.0.0.1:1234/x" -> "/x").
std::string url_path(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

// One otaserver on a fresh data directory with an admin token and app A.
class PatchServer {
 public:
  explicit PatchServer(std::vector<std::string> server_args = {}) : args_(std::move(server_args)) {}

  bool init() {
    if (!start()) return false;
    auto r = run_otaserver({"token", "create", "--data", data_.string(), "--name", "e2e-admin", "--scope", "admin"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    token_ = trim(r.out);
    if (r.exit_code != 0 || !token_.starts_with("ota_")) return false;
    auto a = cli({"app", "create", std::string(kApp)});
    EXPECT_EQ(a.exit_code, 0) << a.err;
    return a.exit_code == 0;
  }
  bool start() {
    proc_ = ServerProcess::start(data_, args_);
    return proc_.has_value();
  }
  bool stop() {
    if (!proc_) return false;
    auto code = proc_->stop(SIGTERM, 20s);
    EXPECT_TRUE(code && *code == 0) << "the server did not stop cleanly; stderr:\n" << proc_->stderr_text();
    proc_.reset();
    return code && *code == 0;
  }
  bool restart() { return stop() && start(); }

  int port() const { return proc_->port(); }
  std::string url() const { return proc_->base_url(); }
  const fs::path& data() const { return data_; }
  const fs::path& tmp() const { return tmp_.path(); }
  std::string server_stderr() const { return proc_ ? proc_->stderr_text() : ""; }

  // `otaserver ARGS... --server URL` with OTA_TOKEN.
  CommandResult cli(std::vector<std::string> args) const {
    args.push_back("--server");
    args.push_back(url());
    return run_otaserver(args, {{"OTA_TOKEN", token_}}, 60s);
  }
  json cli_json(std::vector<std::string> args) const {
    args.push_back("--json");
    auto r = cli(args);
    EXPECT_EQ(r.exit_code, 0) << "otaserver " << args[0] << " " << args[1] << ": " << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out;
    return r.exit_code == 0 && !j.is_discarded() ? j : json(nullptr);
  }

  // Writes `bytes` to a file and runs `otaserver patch publish --app A --file F TARGETING... --json`:
  // the server's answer {id, seq, created_at, signature, md5, size}, or null (with a failure).
  json publish(const std::string& bytes, std::vector<std::string> targeting) {
    const fs::path file = tmp() / ("patch-" + std::to_string(++files_) + ".js");
    write_file(file, bytes);
    std::vector<std::string> args = {"patch", "publish", "--app", std::string(kApp), "--file", file.string()};
    if (std::find(targeting.begin(), targeting.end(), "--platform") == targeting.end()) {
      args.insert(args.end(), {"--platform", "ios"});
    }
    args.insert(args.end(), targeting.begin(), targeting.end());
    json j = cli_json(args);
    EXPECT_TRUE(j.is_object() && j.contains("id")) << j.dump();
    return j;
  }
  // `otaserver patch list --app A --json`: the "patches" array.
  json list() const {
    json j = cli_json({"patch", "list", "--app", std::string(kApp)});
    return j.is_object() ? j["patches"] : json(nullptr);
  }
  // `otaserver keys export-public --app A --out FILE`: the PEM's path.
  fs::path export_public_key() const {
    const fs::path pem = tmp() / "patch-public.pem";
    auto r = cli({"keys", "export-public", "--app", std::string(kApp), "--out", pem.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return pem;
  }
  void app_set(const std::string& flag, const std::string& value) const {
    auto r = cli({"app", "set", std::string(kApp), flag, value});
    EXPECT_EQ(r.exit_code, 0) << "app set " << flag << " " << value << ": " << r.err;
  }

  Http get(const std::string& path, const httplib::Headers& headers = {}) const {
    auto c = make_client(port());
    return to_http(c.Get(path.c_str(), headers));
  }
  // A device: GET /patches/A/ios/VERSION/BUILD with X-Device-Id when given.
  Http device(std::string_view version, std::string_view build, std::optional<std::string> device_id = std::nullopt,
              httplib::Headers headers = {}) const {
    if (device_id) headers.emplace("X-Device-Id", *device_id);
    return get(patch_path("ios", version, build), headers);
  }
  // POST /api/v1/patches/check (no token).
  Http check(const json& body) const { return post_check(body.dump()); }
  Http post_check(const std::string& body) const {
    auto c = make_client(port());
    return to_http(c.Post("/api/v1/patches/check", body, "application/json"));
  }

 private:
  TempDir tmp_;
  fs::path data_ = tmp_ / "data";
  std::vector<std::string> args_;
  std::optional<ServerProcess> proc_;
  std::string token_;
  int files_ = 0;
};

json check_body(std::string_view version, std::string_view build, std::string_view hash = "",
                std::string_view device_id = "") {
  return {{"app", kApp},    {"platform", "ios"},      {"version", version},
          {"build", build}, {"device_id", device_id}, {"hash", hash}};
}

void expect_error_json(const Http& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.describe();
  EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << r.describe();
  json j = r.body_json();
  ASSERT_TRUE(j.is_object()) << r.describe();
  if (!code.empty()) {
    EXPECT_EQ(j.value("error", ""), code) << r.body;
  }
  EXPECT_TRUE(j.contains("message") && j["message"].is_string()) << r.body;
}

// Checks a 200 patch answer against the published file: bytes, digests, ids.
void expect_patch(const Http& r, const std::string& file, const json& published) {
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body.size(), file.size());
  EXPECT_TRUE(r.body == file) << "the body is not the published file's bytes";
  EXPECT_EQ(r.header("X-Patch-Id"), published.value("id", "?"));
  EXPECT_EQ(r.header("X-Patch-Seq"), std::to_string(published.value("seq", -1)));
  EXPECT_EQ(r.header("X-Patch-SHA256"), crypto::sha256(file).base64url());
  EXPECT_EQ(r.header("X-Patch-MD5"), crypto::md5_hex(file));
  EXPECT_EQ(r.header("X-Patch-Signature"), published.value("signature", "?"));
}

// ---- 1. the static URL ----------------------------------------------------------------------------

TEST(PatchStatic, PatchIsServedByteExactSignedAndCacheableAndTargetsVersionAndBuild) {
  auto t0 = std::chrono::steady_clock::now();
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f1 = patch_bytes("build 18221 fix", 3000, 1);
  json p1 = s.publish(f1, {"--version", "3.4.0", "--build", "18221", "--policy", "2"});
  ASSERT_TRUE(p1.is_object());
  EXPECT_EQ(p1.value("size", 0u), f1.size());
  EXPECT_EQ(p1.value("md5", ""), crypto::md5_hex(f1));
  const fs::path pem = s.export_public_key();
  const std::string pem_text = read_file(pem);
  EXPECT_TRUE(pem_text.starts_with("-----BEGIN PUBLIC KEY-----")) << pem_text;

  Http r = s.device("3.4.0", "18221");
  expect_patch(r, f1, p1);
  EXPECT_EQ(r.header("X-Patch-Policy"), "2") << "--policy 2";
  EXPECT_EQ(r.header("Content-Type"), "application/octet-stream");
  const std::string verified = openssl_verify(s.tmp(), pem, r.header("X-Patch-Signature"), r.body);
  EXPECT_EQ(verified, "Verified OK");
  // The check above can fail: the same signature over one flipped byte does not verify.
  std::string tampered = r.body;
  tampered[tampered.size() / 2] ^= 0x01;
  const std::string refused = openssl_verify(s.tmp(), pem, r.header("X-Patch-Signature"), tampered);
  EXPECT_NE(refused.find("Verification failure"), std::string::npos) << refused;

  // Another build of the same version: nothing, and an empty body.
  Http other = s.device("3.4.0", "18222");
  EXPECT_EQ(other.status, 404) << other.describe();
  EXPECT_TRUE(other.body.empty()) << other.describe();
  EXPECT_EQ(other.header("Content-Length"), "0") << other.describe();
  EXPECT_EQ(s.device("3.4.1", "18221").status, 404);

  // A range target without a build: every build of 3.4.x, nothing of 3.5.0.
  const std::string f2 = patch_bytes("3.4 range fix", 5000, 2);
  json p2 = s.publish(f2, {"--range", ">=3.4.0 <3.5.0"});
  ASSERT_TRUE(p2.is_object());
  EXPECT_EQ(p2.value("seq", 0), 2);
  Http r2 = s.device("3.4.0", "18222");
  expect_patch(r2, f2, p2);
  EXPECT_EQ(r2.header("X-Patch-Policy"), "0") << "the default policy";
  EXPECT_EQ(openssl_verify(s.tmp(), pem, r2.header("X-Patch-Signature"), r2.body), "Verified OK");
  expect_patch(s.device("3.4.9", "1"), f2, p2);
  Http v35 = s.device("3.5.0", "18222");
  EXPECT_EQ(v35.status, 404) << v35.describe();
  EXPECT_TRUE(v35.body.empty());
  EXPECT_EQ(s.device("3.3.9", "18222").status, 404);
  // The newest patch that applies decides (service.cpp): 18221 moves to the range patch too.
  Http r18221 = s.device("3.4.0", "18221");
  EXPECT_EQ(r18221.header("X-Patch-Id"), p2.value("id", "")) << r18221.describe();

  // Conditional GETs.
  const std::string etag = r2.header("ETag"), last_modified = r2.header("Last-Modified");
  EXPECT_EQ(etag, "\"" + crypto::sha256(f2).base64url() + "\"");
  EXPECT_FALSE(last_modified.empty()) << r2.describe();
  EXPECT_EQ(r2.header("Cache-Control"), "no-cache");
  Http inm = s.device("3.4.0", "18222", std::nullopt, {{"If-None-Match", etag}});
  EXPECT_EQ(inm.status, 304) << inm.describe();
  EXPECT_TRUE(inm.body.empty());
  EXPECT_EQ(inm.header("ETag"), etag);
  Http ims = s.device("3.4.0", "18222", std::nullopt, {{"If-Modified-Since", last_modified}});
  EXPECT_EQ(ims.status, 304) << ims.describe();
  EXPECT_TRUE(ims.body.empty());
  // A stale validator (patch 1's ETag) gets the full new patch.
  Http stale = s.device("3.4.0", "18222", std::nullopt, {{"If-None-Match", r.header("ETag")}});
  expect_patch(stale, f2, p2);

  // Range: the first ten bytes.
  Http part = s.device("3.4.0", "18222", std::nullopt, {{"Range", "bytes=0-9"}});
  EXPECT_EQ(part.status, 206) << part.describe();
  EXPECT_EQ(part.body.size(), 10u);
  EXPECT_EQ(part.body, f2.substr(0, 10));
  EXPECT_EQ(part.header("Content-Range"), "bytes 0-9/" + std::to_string(f2.size()));

  // HEAD: the headers of the GET and not one byte of body (read off a raw socket).
  RawConnection head(s.port());
  ASSERT_TRUE(head.connected());
  ASSERT_TRUE(head.send_all("HEAD " + patch_path("ios", "3.4.0", "18222") +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  const std::string raw = head.read_until_close(3s);
  const size_t end = raw.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos) << raw;
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200")) << raw;
  EXPECT_NE(raw.find("X-Patch-Id: " + p2.value("id", "")), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Length: " + std::to_string(f2.size())), std::string::npos) << raw;
  EXPECT_EQ(raw.size() - (end + 4), 0u) << "HEAD carried a body";
  EXPECT_TRUE(head.peer_closed());

  std::printf(
      "[patch] static: %zu-byte patch for 3.4.0 (18221) verified (\"%s\"; flipped byte: \"%s\"); "
      "18222 before the range patch: %d with %zu bytes; range patch (%zu bytes) to 3.4.0/18222 %d, "
      "3.4.9 200, 3.5.0 %d; If-None-Match %d, If-Modified-Since %d, Range 0-9 %d (%zu bytes), "
      "HEAD body %zu bytes; test %.0f ms\n",
      f1.size(), verified.c_str(),
      (refused.find("Verification failure") != std::string::npos ? "Verification failure" : refused.c_str()),
      other.status, other.body.size(), f2.size(), r2.status, v35.status, inm.status, ims.status, part.status,
      part.body.size(), raw.size() - (end + 4), ms_since(t0));
}

// If-Modified-Since with a patch's Last-Modified must not hide a different, newer patch that was
// published within the same second (HTTP dates have one-second resolution).
// Two patches published back to back used to share a Last-Modified second, so a device holding
// the older one was told "304" while the newer one was served. The server now moves a patch
// published in the same second as the previous one to the next second.
std::optional<time_t> http_time(const std::string& text) {
  struct tm tm {};
  if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  return timegm(&tm);
}

TEST(PatchStatic, IfModifiedSinceDoesNotHideANewerPatchPublishedInTheSameSecond) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string version = "4.0.0";
  json older = s.publish(patch_bytes("older " + version, 100, 10), {"--version", version});
  Http a = s.device(version, "1");
  ASSERT_EQ(a.status, 200) << a.describe();
  const std::string lm1 = a.header("Last-Modified");
  json newer = s.publish(patch_bytes("newer " + version, 100, 20), {"--version", version});
  Http b = s.device(version, "1");
  ASSERT_EQ(b.status, 200) << b.describe();
  const std::string lm2 = b.header("Last-Modified");
  auto t1 = http_time(lm1), t2 = http_time(lm2);
  ASSERT_TRUE(t1 && t2) << lm1 << " / " << lm2;
  EXPECT_GT(*t2, *t1) << "Last-Modified must strictly increase: " << lm1 << " then " << lm2;
  // A device holding the older patch revalidates with its Last-Modified only.
  Http r = s.device(version, "1", std::nullopt, {{"If-Modified-Since", lm1}});
  std::printf("[patch] back-to-back publishes: Last-Modified %s then %s; If-Modified-Since the older -> %d\n",
              lm1.c_str(), lm2.c_str(), r.status);
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("X-Patch-Id"), newer.value("id", ""));
}

// ---- 2. rollout -----------------------------------------------------------------------------------

TEST(PatchRollout, RolloutPercentIsStickyPerDeviceIdAcrossRestartAndHeaderOrQuery) {
  auto t0 = std::chrono::steady_clock::now();
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("rollout", 800, 3);
  json p = s.publish(f, {"--version", "5.0.0", "--build", "500", "--rollout-percent", "20"});
  ASSERT_TRUE(p.is_object());
  const auto ids = random_uuids(kDevices, kDeviceSeed);
  const std::string path = patch_path("ios", "5.0.0", "500");

  // 200 or 404 for each device; anything else is recorded as its status too.
  auto answers = [&](bool as_query) {
    auto c = make_client(s.port(), true);
    std::vector<int> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      Http r = as_query ? to_http(c.Get((path + "?device_id=" + id).c_str()))
                        : to_http(c.Get(path.c_str(), {{"X-Device-Id", id}}));
      if (r.status == 200) {
        EXPECT_TRUE(r.body == f) << id;
      } else if (r.status == 404) {
        EXPECT_TRUE(r.body.empty()) << id;
      }
      out.push_back(r.status);
    }
    return out;
  };
  auto count = [](const std::vector<int>& v, int status) {
    return static_cast<int>(std::count(v.begin(), v.end(), status));
  };
  auto differing = [](const std::vector<int>& a, const std::vector<int>& b) {
    int n = 0;
    for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i] ? 1 : 0;
    return n;
  };

  auto t_phase = std::chrono::steady_clock::now();
  const auto before = answers(false);
  const double phase_ms = ms_since(t_phase);
  const int got = count(before, 200);
  EXPECT_EQ(got + count(before, 404), static_cast<int>(kDevices)) << "every device gets 200 or 404";
  EXPECT_GE(got, 150);
  EXPECT_LE(got, 250);
  Http anonymous = s.device("5.0.0", "500");
  EXPECT_EQ(anonymous.status, 404) << "a device without an id is outside a partial rollout: " << anonymous.describe();
  EXPECT_TRUE(anonymous.body.empty());
  const auto before_query = answers(true);
  const int query_vs_header = differing(before, before_query);
  EXPECT_EQ(query_vs_header, 0) << "?device_id= must bucket like X-Device-Id";

  // The check endpoint buckets the same way: update:true exactly for the devices that got 200.
  int check_disagrees = 0;
  {
    auto c = make_client(s.port(), true);
    for (size_t i = 0; i < ids.size(); ++i) {
      json j =
          to_http(c.Post("/api/v1/patches/check", check_body("5.0.0", "500", "", ids[i]).dump(), "application/json"))
              .body_json();
      const bool update = j.is_object() && j.value("update", false);
      check_disagrees += update != (before[i] == 200) ? 1 : 0;
    }
  }
  EXPECT_EQ(check_disagrees, 0);

  ASSERT_TRUE(s.restart());
  const auto after = answers(false);
  const auto after_query = answers(true);
  const int changed = differing(before, after), changed_query = differing(before, after_query);
  EXPECT_EQ(changed, 0) << "a restart must not reshuffle the rollout";
  EXPECT_EQ(changed_query, 0);
  EXPECT_EQ(s.device("5.0.0", "500").status, 404);

  std::printf(
      "[patch] rollout 20%% over %zu device ids (seed %llu): %d got the patch, %d got 404; no id: %d; "
      "?device_id= vs header differ: %d; check endpoint disagrees: %d; changed after restart: %d (query: %d); "
      "%zu requests in %.0f ms; test %.0f ms\n",
      kDevices, static_cast<unsigned long long>(kDeviceSeed), got, count(before, 404), anonymous.status,
      query_vs_header, check_disagrees, changed, changed_query, kDevices, phase_ms, ms_since(t0));
}

// ---- 3. preview devices ---------------------------------------------------------------------------

TEST(PatchPreview, OnlyThePreviewDevicesGetAPreviewPatch) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("preview", 500, 4);
  json p = s.publish(f, {"--version", "3.4.0", "--build", "18221", "--preview-devices", "dev-a,dev-b"});
  ASSERT_TRUE(p.is_object());
  std::string summary;
  for (const char* id : {"dev-a", "dev-b"}) {
    Http r = s.device("3.4.0", "18221", id);
    expect_patch(r, f, p);
    Http q = s.get(patch_path("ios", "3.4.0", "18221") + "?device_id=" + id);
    EXPECT_EQ(q.status, 200) << id << " as ?device_id=";
    json c = s.check(check_body("3.4.0", "18221", "", id)).body_json();
    EXPECT_EQ(c.value("update", false), true) << c.dump();
    summary += std::string(" ") + id + "=" + std::to_string(r.status);
  }
  // (A trailing space in the header would be trimmed as HTTP whitespace; the query keeps it.)
  for (const char* q : {"dev-a%20", "dev-c", "%20dev-b"}) {
    Http r = s.get(patch_path("ios", "3.4.0", "18221") + "?device_id=" + q);
    EXPECT_EQ(r.status, 404) << "?device_id=" << q << ": " << r.describe();
    summary += std::string(" ?device_id=") + q + "=" + std::to_string(r.status);
  }
  for (const char* id : {"dev-c", "DEV-A", "dev", "dev-ab", "dev-a,dev-b"}) {
    Http r = s.device("3.4.0", "18221", id);
    EXPECT_EQ(r.status, 404) << "\"" << id << "\": " << r.describe();
    EXPECT_TRUE(r.body.empty());
    summary += std::string(" \"") + id + "\"=" + std::to_string(r.status);
  }
  Http none = s.device("3.4.0", "18221");
  EXPECT_EQ(none.status, 404) << none.describe();
  json c = s.check(check_body("3.4.0", "18221", "", "dev-c")).body_json();
  EXPECT_EQ(c, json({{"update", false}}));
  EXPECT_EQ(s.device("3.4.0", "18222", "dev-a").status, 404) << "the preview keeps its build target";
  std::printf("[patch] preview dev-a,dev-b:%s, no id=%d\n", summary.c_str(), none.status);
}

// ---- 4. revocation ----------------------------------------------------------------------------------

TEST(PatchRevoke, RevocationTakesEffectAtOnceIsUndoneByUnrevokeAndIsAudited) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("to revoke", 700, 5);
  json p = s.publish(f, {"--version", "3.4.0", "--build", "18221"});
  ASSERT_TRUE(p.is_object());
  const std::string id = p["id"];
  expect_patch(s.device("3.4.0", "18221"), f, p);
  json before = s.check(check_body("3.4.0", "18221")).body_json();
  ASSERT_EQ(before.value("update", false), true) << before.dump();
  const std::string issued_before = url_path(before.value("url", ""));

  auto revoke = s.cli({"patch", "revoke", id, "--app", std::string(kApp)});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_NE(revoke.out.find("revoked"), std::string::npos) << revoke.out;
  Http gone = s.device("3.4.0", "18221");  // the very next request
  EXPECT_EQ(gone.status, 404) << gone.describe();
  EXPECT_TRUE(gone.body.empty());
  json after = s.check(check_body("3.4.0", "18221")).body_json();
  // Clients holding it learn it was revoked, so they can drop it.
  EXPECT_EQ(after, json({{"update", false}, {"revoked", true}, {"patch_id", id}}));
  // Recorded, not asserted: a device still holding the revoked patch is told the same.
  json holder = s.check(check_body("3.4.0", "18221", crypto::sha256(f).base64url())).body_json();
  Http link = s.get(issued_before);
  expect_error_json(link, 410, "");
  json listed = s.list();
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << listed.dump();
  EXPECT_EQ(listed[0].value("revoked", false), true);

  auto unrevoke = s.cli({"patch", "unrevoke", id, "--app", std::string(kApp)});
  ASSERT_EQ(unrevoke.exit_code, 0) << unrevoke.err;
  Http back = s.device("3.4.0", "18221");
  expect_patch(back, f, p);
  EXPECT_EQ(s.check(check_body("3.4.0", "18221")).body_json().value("update", false), true);
  EXPECT_EQ(s.list()[0].value("revoked", true), false);

  // The "empty" answer: a revoked patch is replaced on devices by an empty one.
  s.app_set("--patch-revoked-answer", "empty");
  expect_patch(s.device("3.4.0", "18221"), f, p);  // not revoked: unchanged
  ASSERT_EQ(s.cli({"patch", "revoke", id, "--app", std::string(kApp)}).exit_code, 0);
  Http empty = s.device("3.4.0", "18221");
  EXPECT_EQ(empty.status, 200) << empty.describe();
  EXPECT_TRUE(empty.body.empty()) << empty.describe();
  EXPECT_EQ(empty.header("X-Patch-Revoked"), id) << empty.describe();
  EXPECT_EQ(s.check(check_body("3.4.0", "18221")).body_json(),
            json({{"update", false}, {"revoked", true}, {"patch_id", id}}));
  EXPECT_EQ(s.device("3.4.0", "18222").status, 404) << "only where the revoked patch applied";

  auto bogus = s.cli({"patch", "revoke", "00000000-0000-4000-8000-000000000000", "--app", std::string(kApp)});
  EXPECT_NE(bogus.exit_code, 0) << bogus.out;

  ASSERT_TRUE(s.stop());
  metadata::DatabaseOptions o;
  o.path = s.data() / "metadata.db";
  o.read_only = true;
  auto db = metadata::Database::open(o);
  ASSERT_TRUE(db) << db.error().message();
  auto tx = (*db)->begin_read();
  ASSERT_TRUE(tx) << tx.error().message();
  auto q =
      tx->query("SELECT action, coalesce(target, ''), actor FROM audit_log WHERE action LIKE 'patch.%' ORDER BY id");
  ASSERT_TRUE(q) << q.error().message();
  std::vector<std::string> actions;
  std::map<std::string, int> for_patch;
  while (true) {
    auto row = q->next();
    ASSERT_TRUE(row) << row.error().message();
    if (!*row) break;
    actions.push_back(q->text(0));
    if (q->text(1) == id) ++for_patch[q->text(0)];
    EXPECT_FALSE(q->text(2).empty()) << q->text(0) << " has no actor";
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"patch.publish", "patch.revoke", "patch.unrevoke", "patch.revoke"}));
  EXPECT_EQ(for_patch["patch.revoke"], 2);
  EXPECT_EQ(for_patch["patch.unrevoke"], 1);
  std::printf(
      "[patch] revoke: next GET %d (%zu bytes), check %s (from a device holding it: %s), earlier link %d; "
      "unrevoke: %d; revoked with answer \"empty\": %d with %zu bytes; audit_log:",
      gone.status, gone.body.size(), after.dump().c_str(), holder.dump().c_str(), link.status, back.status,
      empty.status, empty.body.size());
  for (const auto& a : actions) std::printf(" %s", a.c_str());
  std::printf("\n");
}

// ---- 5. the check endpoint ----------------------------------------------------------------------------

TEST(PatchCheck, CheckAnswersByHashAndItsLinksAreSingleUseEvenUnderConcurrencyAndUnforgeable) {
  auto t0 = std::chrono::steady_clock::now();
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string old_file = patch_bytes("old", 300, 6);
  const std::string f = patch_bytes("current", 4000, 7);
  json p = s.publish(f, {"--version", "3.4.0", "--build", "18221", "--policy", "1"});
  ASSERT_TRUE(p.is_object());
  const auto sha = crypto::sha256(f);
  std::string upper_hex = sha.hex();
  for (auto& ch : upper_hex) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));

  // The client has the current patch: nothing to do, however it names it.
  for (const std::string& hash : {sha.base64url(), sha.hex(), upper_hex, crypto::md5_hex(f)}) {
    Http r = s.check(check_body("3.4.0", "18221", hash, "dev-1"));
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body_json(), json({{"update", false}})) << "hash " << hash << ": " << r.body;
  }
  // Nothing for this build at all.
  EXPECT_EQ(s.check(check_body("3.4.0", "18222")).body_json(), json({{"update", false}}));

  // An old or no patch: update, with a link.
  std::vector<std::string> urls;
  for (const std::string& hash : {std::string(), crypto::sha256(old_file).base64url(), crypto::md5_hex(old_file)}) {
    Http r = s.check(check_body("3.4.0", "18221", hash, "dev-1"));
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_TRUE(r.header("Content-Type").starts_with("application/json")) << r.describe();
    json j = r.body_json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("update", false), true) << j.dump();
    EXPECT_EQ(j.value("patch_id", ""), p.value("id", "?"));
    EXPECT_EQ(j.value("seq", 0), 1);
    EXPECT_EQ(j.value("sha256", ""), sha.base64url());
    EXPECT_EQ(j.value("md5", ""), crypto::md5_hex(f));
    EXPECT_EQ(j.value("size", 0u), f.size());
    EXPECT_EQ(j.value("policy", -1), 1);
    EXPECT_EQ(j.value("signature", ""), p.value("signature", "?"));
    EXPECT_TRUE(j.value("url", "").starts_with(s.url() + "/patches/download/")) << j.dump();
    EXPECT_FALSE(j.value("expires_at", "").empty()) << j.dump();
    urls.push_back(j.value("url", ""));
  }
  EXPECT_EQ(std::set<std::string>(urls.begin(), urls.end()).size(), urls.size()) << "every check makes a new link";

  // A link works once.
  const std::string link = url_path(urls[0]);
  Http first = s.get(link);
  expect_patch(first, f, p);
  EXPECT_EQ(crypto::sha256(first.body).base64url(), sha.base64url());
  Http second = s.get(link);
  expect_error_json(second, 410, "");
  EXPECT_TRUE(second.body.find(f.substr(0, 20)) == std::string::npos);

  // Forged links: one character changed in the nonce, the expiry or the MAC.
  const std::string fresh = url_path(urls[1]);
  const std::string token = fresh.substr(fresh.rfind('/') + 1);
  const size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  ASSERT_TRUE(dot1 != std::string::npos && dot2 > dot1) << token;
  auto changed_at = [&](size_t i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    if (i > dot1 && i < dot2) t[i] = t[i] == '9' ? '8' : '9';  // the expiry is digits
    return "/patches/download/" + t;
  };
  std::vector<int> forged;
  for (size_t i : {size_t{0}, dot1 + 1, token.size() - 2}) {
    Http r = s.get(changed_at(i));
    expect_error_json(r, 403, "");
    forged.push_back(r.status);
  }
  Http garbage = s.get("/patches/download/not-a-link");
  expect_error_json(garbage, 403, "");
  // The forgeries did not burn the genuine link.
  expect_patch(s.get(fresh), f, p);

  // 50 connections racing for one fresh link: exactly one gets the bytes.
  json race = s.check(check_body("3.4.0", "18221", "", "dev-race")).body_json();
  ASSERT_EQ(race.value("update", false), true) << race.dump();
  const std::string race_link = url_path(race.value("url", ""));
  constexpr int kRacers = 50;
  std::latch go(kRacers);
  std::vector<Http> results(kRacers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      auto c = make_client(s.port());
      go.arrive_and_wait();
      results[static_cast<size_t>(i)] = to_http(c.Get(race_link.c_str()));
    });
  }
  for (auto& t : threads) t.join();
  int ok = 0, gone = 0, other = 0;
  for (const auto& r : results) {
    if (r.status == 200) {
      ++ok;
      EXPECT_TRUE(r.body == f) << "the winner got other bytes";
    } else if (r.status == 410) {
      ++gone;
      EXPECT_EQ(r.body_json().value("error", ""), "gone") << r.describe();
    } else {
      ++other;
      ADD_FAILURE() << "unexpected answer: " << r.describe();
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(gone, kRacers - 1);

  std::printf(
      "[patch] check: 4 ways of naming the current patch -> update:false; link: first GET %d (%zu bytes, "
      "sha256 ok), second %d (%s); forged (nonce, expiry, MAC) -> %d %d %d, garbage %d; %d concurrent "
      "GETs of one link -> %d x 200, %d x 410, %d other; test %.0f ms\n",
      first.status, first.body.size(), second.status, second.body_json().value("error", "?").c_str(), forged[0],
      forged[1], forged[2], garbage.status, kRacers, ok, gone, other, ms_since(t0));
}

TEST(PatchCheck, LinksExpireAfterPatchLinkTtlAndDoNotSurviveARestart) {
  PatchServer s({"--patch-link-ttl-s", "1"});
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("ttl", 200, 8);
  ASSERT_TRUE(s.publish(f, {"--version", "3.4.0", "--build", "18221"}).is_object());
  auto link = [&] {
    json j = s.check(check_body("3.4.0", "18221")).body_json();
    EXPECT_EQ(j.value("update", false), true) << j.dump();
    return std::make_pair(url_path(j.value("url", "")), j.value("expires_at", ""));
  };
  // Used at once: fine.
  EXPECT_EQ(s.get(link().first).status, 200);
  // Used after 2 s: expired.
  auto [late, expires_at] = link();
  auto issued = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  Http r = s.get(late);
  expect_error_json(r, 410, "gone");
  EXPECT_NE(r.body_json().value("message", "").find("expired"), std::string::npos) << r.body;
  // Issued before a restart: gone (links live in memory).
  auto before_restart = link().first;
  ASSERT_TRUE(s.restart());
  Http after = s.get(before_restart);
  expect_error_json(after, 410, "gone");
  std::printf(
      "[patch] --patch-link-ttl-s 1: link (expires_at %s) used after %.0f ms -> %d \"%s\"; link from before "
      "a restart -> %d\n",
      expires_at.c_str(), ms_since(issued), r.status, r.body_json().value("message", "").c_str(), after.status);
}

// HEAD is safe (RFC 9110 §9.2.1): it must not use up a single-use link, nor count as a download.
TEST(PatchCheck, AHeadRequestDoesNotUseUpASingleUseLink) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("head", 200, 17);
  ASSERT_TRUE(s.publish(f, {"--version", "3.4.0", "--build", "18221"}).is_object());
  json j = s.check(check_body("3.4.0", "18221")).body_json();
  ASSERT_EQ(j.value("update", false), true) << j.dump();
  const std::string link = url_path(j.value("url", ""));
  auto c = make_client(s.port());
  Http head = to_http(c.Head(link.c_str()));
  Http get = s.get(link);
  json listed = s.list();
  const int downloads = listed.is_array() && !listed.empty() ? listed[0].value("downloads", -1) : -1;
  std::printf("[patch] HEAD on a fresh link -> %d, then GET -> %d; downloads counted: %d\n", head.status, get.status,
              downloads);
  EXPECT_EQ(get.status, 200) << "the HEAD used up the link:\n" << get.describe();
  EXPECT_TRUE(get.body == f);
  EXPECT_EQ(downloads, 1) << "a HEAD sends no bytes; only the GET is a download";
}

// The download answer says no-store (routes_patch.cpp) -- once, not next to the static URL's no-cache.
TEST(PatchCheck, TheDownloadAnswerHasOneCacheControlNoStore) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.publish(patch_bytes("cc", 200, 18), {"--version", "3.4.0", "--build", "18221"}).is_object());
  json j = s.check(check_body("3.4.0", "18221")).body_json();
  Http r = s.get(url_path(j.value("url", "")));
  ASSERT_EQ(r.status, 200) << r.describe();
  std::string values;
  for (auto [it, end] = r.headers.equal_range("Cache-Control"); it != end; ++it) values += "[" + it->second + "]";
  std::printf("[patch] download link Cache-Control headers: %s\n", values.c_str());
  EXPECT_EQ(r.headers.count("Cache-Control"), 1u) << r.describe();
  EXPECT_EQ(values, "[no-store]");
}

// ---- 6. path template ---------------------------------------------------------------------------------

TEST(PatchTemplate, PathTemplateServesTheIosPatchAndUnknownPathsStill404WithJson) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string ios = patch_bytes("ios", 900, 9), android = patch_bytes("android", 900, 10);
  json pi = s.publish(ios, {"--version", "3.4.0", "--build", "18221"});
  json pa = s.publish(android, {"--platform", "android", "--version", "3.4.0", "--build", "18221"});
  ASSERT_TRUE(pi.is_object() && pa.is_object());
  Http before = s.get("/rc/3.4.0/18221.config");
  expect_error_json(before, 404, "not_found");

  s.app_set("--patch-path-template", "/rc/{short}/{build}.config");
  Http r = s.get("/rc/3.4.0/18221.config");
  expect_patch(r, ios, pi);
  Http ims = s.get("/rc/3.4.0/18221.config", {{"If-None-Match", r.header("ETag")}});
  EXPECT_EQ(ims.status, 304) << ims.describe();
  Http none = s.get("/rc/3.4.0/18222.config");
  EXPECT_EQ(none.status, 404) << none.describe();
  EXPECT_TRUE(none.body.empty()) << "a template match with no patch is the bare 404";
  // The static URL still works, for both platforms.
  expect_patch(s.get(patch_path("android", "3.4.0", "18221")), android, pa);
  std::string statuses;
  for (const char* path :
       {"/rc/3.4.0/18221.json", "/rc/3.4.0/18221.config/x", "/nope", "/rc/3.4.0/", "/rc//18221.config"}) {
    Http u = s.get(path);
    expect_error_json(u, 404, "not_found");
    statuses += std::string(" ") + path + "=" + std::to_string(u.status);
  }
  std::printf(
      "[patch] template /rc/{short}/{build}.config: /rc/3.4.0/18221.config -> %d (%zu bytes, the iOS patch), "
      "18222 -> %d (%zu bytes); unknown:%s\n",
      r.status, r.body.size(), none.status, none.body.size(), statuses.c_str());
}

// ---- 7. signature line --------------------------------------------------------------------------------

TEST(PatchSignatureLine, FirstLineCarriesTheSignatureAndTheRestIsTheFile) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("signature line", 1200, 11);
  json p = s.publish(f, {"--version", "3.4.0", "--build", "18221"});
  ASSERT_TRUE(p.is_object());
  const fs::path pem = s.export_public_key();
  Http plain = s.device("3.4.0", "18221");
  expect_patch(plain, f, p);

  s.app_set("--patch-signature-line", "true");
  Http r = s.device("3.4.0", "18221");
  ASSERT_EQ(r.status, 200) << r.describe();
  const size_t nl = r.body.find('\n');
  ASSERT_NE(nl, std::string::npos);
  const std::string first_line = r.body.substr(0, nl), rest = r.body.substr(nl + 1);
  EXPECT_EQ(first_line, "//" + r.header("X-Patch-Signature"));
  EXPECT_EQ(r.header("X-Patch-Signature"), p.value("signature", "?"));
  EXPECT_TRUE(rest == f) << "the rest is not the original file";
  const std::string verified = openssl_verify(s.tmp(), pem, first_line.substr(2), rest);
  EXPECT_EQ(verified, "Verified OK");
  // The check endpoint's link serves the same body.
  json c = s.check(check_body("3.4.0", "18221")).body_json();
  Http d = s.get(url_path(c.value("url", "")));
  EXPECT_EQ(d.status, 200) << d.describe();
  EXPECT_TRUE(d.body == r.body);
  EXPECT_EQ(c.value("size", 0u), r.body.size()) << c.dump();

  // Recorded, not asserted: with the line on, sha256/md5 (check answer and headers) name the file,
  // while size and the bytes sent include the line.
  const bool check_sha_matches_body = c.value("sha256", "") == crypto::sha256(d.body).base64url();
  const bool header_sha_matches_body = r.header("X-Patch-SHA256") == crypto::sha256(r.body).base64url();

  s.app_set("--patch-signature-line", "false");
  expect_patch(s.device("3.4.0", "18221"), f, p);
  std::printf(
      "[patch] signature line: body %zu bytes = %zu-byte line + %zu-byte file; openssl on the rest: \"%s\"; "
      "check size %zu; sha256 of the bytes sent matches the check's sha256: %s, X-Patch-SHA256: %s\n",
      r.body.size(), first_line.size() + 1, rest.size(), verified.c_str(), c.value("size", size_t{0}),
      check_sha_matches_body ? "yes" : "no", header_sha_matches_body ? "yes" : "no");
}

// A strong ETag names one representation: turning the signature line on changes the bytes, so a
// device revalidating with the old ETag must get the new body, not 304.
TEST(PatchSignatureLine, TurningTheSignatureLineOnChangesTheETag) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("etag", 300, 12);
  ASSERT_TRUE(s.publish(f, {"--version", "3.4.0", "--build", "18221"}).is_object());
  Http plain = s.device("3.4.0", "18221");
  ASSERT_EQ(plain.status, 200);
  s.app_set("--patch-signature-line", "true");
  Http lined = s.device("3.4.0", "18221");
  ASSERT_EQ(lined.status, 200);
  ASSERT_NE(lined.body, plain.body);
  Http reval = s.device("3.4.0", "18221", std::nullopt, {{"If-None-Match", plain.header("ETag")}});
  std::printf("[patch] ETag without the signature line %s, with it %s; If-None-Match old ETag -> %d (%zu bytes)\n",
              plain.header("ETag").c_str(), lined.header("ETag").c_str(), reval.status, reval.body.size());
  EXPECT_NE(lined.header("ETag"), plain.header("ETag")) << "two different bodies share one strong ETag";
  EXPECT_EQ(reval.status, 200) << "a device holding the body without the signature line is told it is current";
}

// ---- 8. offline signatures ------------------------------------------------------------------------------

TEST(PatchOfflineSignature, AnOfflineSignatureThatDoesNotVerifyIsRefusedAndPublishesNothing) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f1 = patch_bytes("first", 400, 13), f2 = patch_bytes("second", 400, 14);
  json p1 = s.publish(f1, {"--version", "3.4.0", "--build", "18221"});
  ASSERT_TRUE(p1.is_object());
  const json listed = s.list();
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << listed.dump();

  // A foreign key pair, made with openssl: a well-formed signature over the right bytes.
  const fs::path key = s.tmp() / "foreign.pem", f2_path = s.tmp() / "f2.bin", foreign_sig = s.tmp() / "foreign.sig";
  write_file(f2_path, f2);
  auto gen = shell("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + quoted(key));
  ASSERT_EQ(gen.first, 0) << gen.second;
  auto sign =
      shell("openssl dgst -sha256 -sign " + quoted(key) + " -out " + quoted(foreign_sig) + " " + quoted(f2_path));
  ASSERT_EQ(sign.first, 0) << sign.second;

  struct Case {
    std::string name, signature;
    std::string expect;  // in the CLI's error message
  };
  const std::vector<Case> cases = {
      {"the app key's signature over other bytes (patch 1)", p1.value("signature", ""), "does not verify"},
      {"a foreign key's signature over these bytes", base64_encode(read_file(foreign_sig)), "does not verify"},
      {"base64 garbage of the right length", base64_encode(std::string(256, '\x5a')), "does not verify"},
      {"not base64 at all", "this is not a signature!", "base64"},
  };
  std::string summary;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path sig = s.tmp() / "offline.sig";
    write_file(sig, c.signature + "\n");
    auto r = s.cli({"patch", "publish", "--app", std::string(kApp), "--platform", "ios", "--version", "3.4.0",
                    "--build", "18222", "--file", f2_path.string(), "--signature-file", sig.string()});
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    summary += "\n  " + c.name + ": exit " + std::to_string(r.exit_code) + ", \"" + trim(r.err) + "\"";
  }
  json after = s.list();
  EXPECT_EQ(after, listed) << "a refused publish changed the patch list";
  EXPECT_EQ(s.device("3.4.0", "18222").status, 404);

  // The control: the app key's own signature over these very bytes is accepted as an offline one.
  json again = s.publish(f1, {"--version", "3.4.1", "--signature-file", [&] {
                                const fs::path sig = s.tmp() / "good.sig";
                                write_file(sig, p1.value("signature", "") + "\n");
                                return sig.string();
                              }()});
  ASSERT_TRUE(again.is_object());
  json with_good = s.list();
  ASSERT_EQ(with_good.size(), 2u) << with_good.dump();
  EXPECT_EQ(with_good[0].value("signed_offline", false), true) << with_good.dump();
  expect_patch(s.device("3.4.1", "7"), f1, again);
  std::printf(
      "[patch] offline signatures refused (patch list unchanged: %s):%s\n  control (valid offline "
      "signature): accepted, signed_offline=%s\n",
      after == listed ? "yes" : "no", summary.c_str(), with_good[0].value("signed_offline", false) ? "true" : "false");
}

// ---- 9. counters --------------------------------------------------------------------------------------------

TEST(PatchCounters, ChecksAndDownloadsAreCountedPerAppVersionAndSurviveARestart) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  const std::string f = patch_bytes("counted", 600, 15);
  json p = s.publish(f, {"--range", ">=3.4.0 <3.5.0"});
  ASSERT_TRUE(p.is_object());
  const std::string sha = crypto::sha256(f).base64url();

  // 3.4.0: 3 checks that get a link, 2 of the links downloaded.
  std::vector<std::string> links;
  for (int i = 0; i < 3; ++i) links.push_back(url_path(s.check(check_body("3.4.0", "1")).body_json().value("url", "")));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(s.get(links[static_cast<size_t>(i)]).status, 200);
  // 3.4.1: 2 checks from devices that are current, 4 static downloads, 1 revalidation (304).
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(s.check(check_body("3.4.1", "1", sha)).body_json(), json({{"update", false}}));
  }
  Http last;
  for (int i = 0; i < 4; ++i) last = s.get(patch_path("ios", "3.4.1", "2"));
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(s.get(patch_path("ios", "3.4.1", "2"), {{"If-None-Match", last.header("ETag")}}).status, 304);
  // Not counted: versions the patch does not apply to.
  EXPECT_EQ(s.get(patch_path("ios", "3.5.0", "2")).status, 404);
  EXPECT_EQ(s.check(check_body("3.5.0", "2")).body_json(), json({{"update", false}}));

  auto counters = [&] {
    json l = s.list();
    EXPECT_TRUE(l.is_array() && l.size() == 1) << l.dump();
    return l.is_array() && !l.empty() ? l[0] : json::object();
  };
  const json c1 = counters();
  EXPECT_GT(c1.value("checks", 0), 0);
  EXPECT_GT(c1.value("downloads", 0), 0);
  EXPECT_EQ(c1.value("checks", 0), 6) << c1.dump();
  EXPECT_EQ(c1.value("downloads", 0), 6) << c1.dump();
  const json expected_by_version = {{"3.4.0", {{"checks", 3}, {"downloads", 2}}},
                                    {"3.4.1", {{"checks", 3}, {"downloads", 4}}}};
  EXPECT_EQ(c1["by_version"], expected_by_version) << c1.dump();
  // The text listing shows the same totals.
  auto text = s.cli({"patch", "list", "--app", std::string(kApp)});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find(c1.value("id", "?")), std::string::npos) << text.out;

  // Written to the database: a restart keeps them, and later traffic adds to them.
  ASSERT_TRUE(s.restart());
  const json c2 = counters();
  EXPECT_EQ(c2["by_version"], expected_by_version) << c2.dump();
  EXPECT_EQ(s.get(patch_path("ios", "3.4.0", "9")).status, 200);
  const json c3 = counters();
  EXPECT_EQ(c3["by_version"]["3.4.0"].value("downloads", 0), 3) << c3.dump();
  std::printf(
      "[patch] counters: checks %d downloads %d, by_version %s; after restart %s; after one more download "
      "3.4.0 downloads %d\n%s",
      c1.value("checks", 0), c1.value("downloads", 0), c1["by_version"].dump().c_str(), c2["by_version"].dump().c_str(),
      c3["by_version"]["3.4.0"].value("downloads", 0), text.out.c_str());
}

// ---- 10. bad input --------------------------------------------------------------------------------------------

TEST(PatchCheckInput, MalformedChecksGetJsonErrorsAndAnOversizedBodyIs413AndClosed) {
  PatchServer s;
  ASSERT_TRUE(s.init());
  ASSERT_TRUE(s.publish(patch_bytes("input", 100, 16), {"--version", "3.4.0", "--build", "18221"}).is_object());

  Http not_json = s.post_check("{\"app\": \"A\", ");
  expect_error_json(not_json, 400, "invalid_argument");
  expect_error_json(s.post_check("[1,2,3]"), 400, "invalid_argument");
  expect_error_json(s.check({{"app", "A"}, {"platform", "windows"}, {"version", "3.4.0"}}), 400, "invalid_argument");
  expect_error_json(s.check({{"platform", "ios"}, {"version", "3.4.0"}}), 400, "invalid_argument");
  json bad = check_body("abc", "18221");
  Http bad_version = s.check(bad);
  expect_error_json(bad_version, 400, "invalid_argument");
  json unknown = check_body("3.4.0", "18221");
  unknown["app"] = "no-such-app";
  Http unknown_app = s.check(unknown);
  expect_error_json(unknown_app, 404, "not_found");
  expect_error_json(s.get(patch_path("ios", "3.4.0", "18221", "no-such-app")), 404, "not_found");
  Http wrong_method = s.get("/api/v1/patches/check");
  expect_error_json(wrong_method, 405, "");
  // The server still answers properly after all that.
  EXPECT_EQ(s.check(check_body("3.4.0", "18221")).body_json().value("update", false), true);

  // A body just over 16 KiB: 413, one response, and the connection is closed (the body is never
  // read, so a request hidden in it must not run).
  std::string big = check_body("3.4.0", "18221").dump();
  big.insert(big.size() - 1, std::string(16 * 1024 + 1 - big.size(), ' '));
  ASSERT_EQ(big.size(), 16u * 1024 + 1);
  RawConnection c(s.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.send_all("POST /api/v1/patches/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Content-Length: " +
                 std::to_string(big.size()) + "\r\n\r\n" + big));
  const std::string raw = c.read_until_close(3s);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 413")) << raw;
  EXPECT_TRUE(c.peer_closed()) << "the connection stayed open:\n" << raw;
  EXPECT_EQ(count_responses(raw), 1) << raw;
  EXPECT_NE(raw.find("\"error\":\"too_large\""), std::string::npos) << raw;  // the body may be chunked
  // Exactly 16 KiB is fine.
  std::string limit = big.substr(0, big.size() - 2) + "}";
  ASSERT_EQ(limit.size(), 16u * 1024);
  Http at_limit = s.post_check(limit);
  EXPECT_EQ(at_limit.status, 200) << at_limit.describe();
  EXPECT_EQ(at_limit.body_json().value("update", false), true);

  std::printf(
      "[patch] bad input: non-JSON %d, version \"abc\" %d (%s), unknown app %d, GET %d; %zu-byte body -> "
      "%s, closed=%d, responses=%d; %zu-byte body -> %d\n",
      not_json.status, bad_version.status, bad_version.body_json().value("message", "").c_str(), unknown_app.status,
      wrong_method.status, big.size(), raw.substr(0, raw.find("\r\n")).c_str(), c.peer_closed() ? 1 : 0,
      count_responses(raw), limit.size(), at_limit.status);
}

}  // namespace
}  // namespace ota::testing

namespace ota::testing {
namespace {

// Regression: garbage collection once counted only Expo assets as references, so after the grace
// period it deleted every patch's bytes (and the patch then failed to load).
TEST(PatchGc, GarbageCollectionKeepsPatchBytesAndFsckCountsThemAsReferenced) {
  PatchServer s({"--gc-grace-s", "1", "--gc-interval-s", "0"});
  ASSERT_TRUE(s.init());
  const std::string live = patch_bytes("kept by gc", 900, 7);
  const std::string revoked = patch_bytes("revoked, kept for unrevoke", 900, 8);
  json p = s.publish(live, {"--version", "3.4.0", "--build", "18221"});
  json r = s.publish(revoked, {"--version", "3.5.0", "--build", "18300"});
  ASSERT_TRUE(p.is_object() && r.is_object());
  ASSERT_EQ(s.cli({"patch", "revoke", r["id"].get<std::string>(), "--app", std::string(kApp)}).exit_code, 0);
  std::this_thread::sleep_for(1500ms);  // past the grace period of uploads and of the start
  auto gc = s.cli({"gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  EXPECT_EQ(s.device("3.4.0", "18221").body, live);
  // The bytes survive a restart (the snapshot reloads them from the store).
  ASSERT_TRUE(s.stop());
  auto fsck = run_otaserver({"fsck", "--data", s.data().string(), "--deep", "--json"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  json report = json::parse(fsck.out, nullptr, false);
  EXPECT_EQ(report.value("referenced_blobs", -1), 2) << fsck.out;
  EXPECT_EQ(report.value("orphans", -1), 0) << fsck.out;
  ASSERT_TRUE(s.start());
  EXPECT_EQ(s.device("3.4.0", "18221").body, live);
  ASSERT_EQ(s.cli({"patch", "unrevoke", r["id"].get<std::string>(), "--app", std::string(kApp)}).exit_code, 0);
  EXPECT_EQ(s.device("3.5.0", "18300").body, revoked);
}

}  // namespace
}  // namespace ota::testing
