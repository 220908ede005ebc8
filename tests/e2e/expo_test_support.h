// Support for the Expo Updates conformance tests (docs: /work/shared/docs/expo-updates-protocol.md
// §8). Everything here is an independent client-side view of the protocol: requests go out as raw
// HTTP/1.1 bytes (no library adds Accept or Accept-Encoding behind the test's back), multipart
// bodies are taken apart by a strict RFC 2046 parser, and signatures are checked with the
// `openssl` command-line tool, never with otaserver's own code.
//
// Seeding. Publishing the `expo export` fixture takes about a second per update, and ctest runs
// every TEST in its own process. So the published state is built once per otaserver binary (keyed
// by its size and mtime) into a cache directory under the build tree, guarded by flock, and every
// test server starts on a private copy of it (~0.1 s). The seed holds these apps, all on runtime
// 1.0.0, default channel "production":
//   demo      signing key "main"; update1 then update2, both platforms, with expoConfig.json
//   plain     no signing key; update1 then update2
//   tokens    signing key "main"; update1 then update2 (the asset-token test turns tokens on)
//   tokens2   no key; update1 (a second app for cross-app asset-token checks)
//   rollback  signing key "main"; update1 then update2 (the rollback test adds a marker)
//   rollout   update1 at 100%, then update2 at --rollout-percent 10
//   iosonly   update1 published with --platform ios only
// plus demo's update1 manifests (captured before update2 existed), the certificates, and the
// publish outputs (ids, createdAt, files uploaded).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "server_process.h"
#include "support/temp_dir.h"

namespace ota::testing::expo {

using Headers = std::vector<std::pair<std::string, std::string>>;

// ---- raw HTTP ------------------------------------------------------------------------------------

struct HttpResponse {
  bool ok = false;  // false if the connection failed or the response did not parse
  int status = 0;
  Headers headers;   // names lower-cased, in order, duplicates kept
  std::string body;  // exactly as received (not decoded); empty for HEAD/204/304
  std::string head;  // status line and header block, for failure messages

  std::optional<std::string> header(std::string_view name) const;
  size_t header_count(std::string_view name) const;
  std::string header_or(std::string_view name, std::string fallback = "") const {
    return header(name).value_or(std::move(fallback));
  }
};

// One request on a fresh connection with exactly `headers` (plus Host and Connection: close unless
// given). A body gets a Content-Length.
HttpResponse http_request(int port, std::string_view method, std::string_view target, const Headers& headers = {},
                          std::string_view body = {});

// Removes content-encoding (gzip, br) from the body; nullopt for an unknown coding or bad data.
std::optional<std::string> decoded_body(const HttpResponse& res);

// Header lists.
Headers with(Headers h, std::string name, std::string value);  // replaces same-named (any case)
Headers without(Headers h, std::string_view name);

// What an SDK 57 client sends on a manifest request (§1.3): protocol 1 unless `protocol` is
// nullopt (header absent, i.e. a protocol-0 client), runtime 1.0.0, no channel (default channel).
constexpr std::string_view kClientAccept = "multipart/mixed,application/expo+json,application/json";
Headers device(std::string_view platform, std::optional<int> protocol = 1);
constexpr std::string_view kExpectSignature = "sig, keyid=\"main\", alg=\"rsa-v1_5-sha256\"";

// ---- multipart -------------------------------------------------------------------------------------

struct Part {
  std::string name;  // the content-disposition name parameter
  std::string disposition_type;
  Headers headers;   // names as written
  std::string body;  // the exact bytes between the blank line and the CRLF of the next delimiter

  std::optional<std::string> header(std::string_view lower_name) const;
};

struct Multipart {
  std::string boundary;
  std::vector<Part> parts;
  const Part* find(std::string_view name) const;
};

// Strict RFC 2046 §5.1 parse of a whole multipart/mixed response (content-type value and body).
// Fails (with `error` set) unless: the content-type is multipart/mixed with a boundary of 1-70
// characters from [A-Za-z0-9-]; the body starts with "--B\r\n" (no preamble) and ends with
// "\r\n--B--\r\n" (no epilogue); every other "--B" is preceded by CRLF and followed by CRLF; every
// part has lower-case header names written "name: value", a blank line, and a content-disposition
// with a quoted name.
std::optional<Multipart> parse_multipart(std::string_view content_type, std::string_view body, std::string& error);

// ---- a manifest answer -------------------------------------------------------------------------------

struct ExpoAnswer {
  HttpResponse http;
  std::string body;  // content-encoding removed
  bool decoded = false;
  std::optional<Multipart> multipart;  // set when content-type is multipart/* and it parsed
  std::string multipart_error;

  int status() const { return http.status; }
  bool is_multipart() const;
  const Part* part(std::string_view name) const { return multipart ? multipart->find(name) : nullptr; }
  nlohmann::json part_json(std::string_view name) const;  // null if absent or not JSON
  nlohmann::json json_body() const;                       // body as JSON (format B / errors)
};

ExpoAnswer parse_answer(HttpResponse res);

// ---- digests and signatures ----------------------------------------------------------------------

std::string sha256_base64url(std::string_view bytes);
std::string md5_hex(std::string_view bytes);
std::string read_file(const std::filesystem::path& p);

// Standard base64 (RFC 4648 §4) with padding, no whitespace, canonical; nullopt otherwise.
std::optional<std::string> strict_base64_decode(std::string_view text);

// expo-signature parsed as an RFC 8941 dictionary whose members must all be sf-strings.
struct ExpoSignature {
  std::vector<std::pair<std::string, std::string>> members;
  std::optional<std::string> get(std::string_view key) const;
};
std::optional<ExpoSignature> parse_expo_signature(std::string_view value, std::string& error);

struct OpensslVerdict {
  bool verified = false;
  std::string output;  // what openssl printed (or why it was not run)
};
// `openssl x509 -pubkey -noout -in CERT` then `openssl dgst -sha256 -verify pub.pem -signature
// sig.bin body.bin`; verified only if it exits 0 and prints "Verified OK".
OpensslVerdict openssl_verify(const std::filesystem::path& certificate, std::string_view body,
                              std::string_view sig_base64);

// Parses the header and verifies its sig over `body`; EXPECTs keyid and alg. Returns true if valid.
bool expect_signature_verifies(const std::string& header_value, std::string_view body,
                               const std::filesystem::path& certificate, std::string_view keyid = "main");

// ---- protocol assertions (gtest EXPECTs; wrap calls in SCOPED_TRACE) -------------------------------

// C16-C18, C74: the outer headers every manifest-endpoint 200 carries.
void expect_manifest_response_headers(const ExpoAnswer& a, int protocol);
// C33-C43: a strictly valid multipart body with the intended parts only.
void expect_valid_multipart(const ExpoAnswer& a);
// C47, C50, C52-C57, C59-C63, C65, C67: manifest JSON shape; URLs start with `base_url`.
void expect_manifest_shape(const nlohmann::json& m, std::string_view manifest_bytes, std::string_view runtime,
                           std::string_view base_url);
// C71-C73.
void expect_directive(const nlohmann::json& d, std::string_view type);
// C77: an error status with a JSON body {"error": string, ...}.
void expect_json_error(const HttpResponse& r, int status);

bool is_uuid(std::string_view s);
bool is_created_at(std::string_view s);

// ---- the fixture -------------------------------------------------------------------------------------

std::filesystem::path fixture_dir();  // the `expo export` fixture (read only)

// What a manifest must say about one platform of a fixture export, computed here from the export's
// metadata.json and file bytes (C109, C110).
struct ExpectedAsset {
  std::string path;  // relative to the export root
  std::string hash;  // base64url SHA-256
  std::string key;   // hex MD5
  std::string ext;   // without the dot; empty for the launch asset
};
struct ExpectedUpdate {
  ExpectedAsset launch;
  std::vector<ExpectedAsset> assets;
};
ExpectedUpdate expected_from_export(std::string_view update, std::string_view platform);

// "http://127.0.0.1:1234/apps/x/assets/h" -> "/apps/x/assets/h".
std::string url_path(std::string_view url);

struct Seed {
  std::filesystem::path root;  // data/, certs/, seed.json
  nlohmann::json info;
};
// Builds the seed on first use per otaserver binary; fails the test and returns nullptr if that fails.
const Seed* seed();

class ExpoServer {
 public:
  // A server on a private copy of the seed; nullptr (with a test failure) if it does not start.
  static std::unique_ptr<ExpoServer> start();

  int port() const { return proc_->port(); }
  std::string base_url() const { return proc_->base_url(); }
  ServerProcess& process() { return *proc_; }
  const std::filesystem::path& data_dir() const { return data_; }
  const nlohmann::json& info() const { return seed_->info; }
  std::string token() const { return seed_->info["token"]; }
  std::filesystem::path cert(std::string_view app) const;
  // Update id / createdAt / group as recorded when the seed was published.
  std::string update_id(std::string_view app, std::string_view update, std::string_view platform) const;
  std::string created_at(std::string_view app, std::string_view update) const;
  // demo's update1 manifest JSON (bytes) captured before update2 was published.
  std::string demo_update1_manifest(std::string_view platform) const;

  HttpResponse get(std::string_view target, const Headers& headers = {}) const {
    return http_request(port(), "GET", target, headers);
  }
  ExpoAnswer manifest(std::string_view app, const Headers& headers) const;
  // POST/PATCH to the admin API with the seed's admin token.
  HttpResponse api(std::string_view method, std::string_view target, const nlohmann::json& body) const;
  // `otaserver ARGS... --server URL` with OTA_TOKEN set.
  CommandResult cli(std::vector<std::string> args) const;
  // SIGTERM, then start again on the same data directory (new port).
  bool restart();

  // Conveniences over cli() for tests that need more than the seed; each fails the test on error.
  bool create_app(const std::string& name);
  // `otaserver keys generate`; returns the certificate's path (in this server's temp dir).
  std::filesystem::path generate_key(const std::string& app, const std::string& keyid = "main");
  // Publishes fixture `update` ("update1"/"update2") with expoConfig.json on runtime 1.0.0;
  // returns parse_publish_output() of it (null on failure).
  nlohmann::json publish(const std::string& app, const std::string& update, std::vector<std::string> extra = {});

  ~ExpoServer();

 private:
  ExpoServer() = default;
  const Seed* seed_ = nullptr;
  std::unique_ptr<TempDir> tmp_;
  std::filesystem::path data_;
  std::optional<ServerProcess> proc_;
};

// A test suite whose tests share one server (a fresh copy of the seed per suite). ctest runs each
// test in its own process, so there this is one server per test; a direct run of the executable
// shares it across the suite.
class ExpoSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!server_) server_ = ExpoServer::start();
    ASSERT_TRUE(server_) << "no server";
  }
  static void TearDownTestSuite() { server_.reset(); }
  ExpoServer& server() { return *server_; }

  static inline std::unique_ptr<ExpoServer> server_;
};

// Parses `otaserver publish` output: {"group", "created_at", "files_uploaded", "ios", "android"}.
nlohmann::json parse_publish_output(const std::string& out);

}  // namespace ota::testing::expo
