// TLS without a reverse proxy and trusted proxies, against the real binary: HTTPS only on the
// listen address, TLS 1.2 minimum with ECDHE + AEAD, certificate reloads (SIGHUP and changed
// files) that never interrupt serving, startup errors that name the file, and the client address
// the access and audit logs record behind a trusted proxy. Certificates come from the openssl
// command line, as an operator would make them.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/rsa.h"
#include "raw_http.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "test_util.h"

namespace ota::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Shell {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs `command` with /bin/sh (bounded by coreutils' timeout), stdout and stderr together.
Shell sh(const std::string& command) {
  Shell r;
  FILE* pipe = ::popen(("timeout 30 sh -c '" + command + "' 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A self-signed certificate for 127.0.0.1 (CN and subjectAltName) and its key.
struct CertPair {
  fs::path cert, key;
};

CertPair make_pair(const fs::path& dir, const std::string& name, const std::string& newkey) {
  CertPair p{dir / (name + ".crt"), dir / (name + ".key")};
  Shell r = sh("openssl req -x509 " + newkey + " -nodes -keyout " + p.key.string() + " -out " + p.cert.string() +
               " -days 30 -subj /O=" + name + "/CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return p;
}

// Replaces `to` with a copy of `from` in one rename, as certbot's symlink swap does.
void install(const fs::path& from, const fs::path& to) {
  fs::path tmp = to;
  tmp += ".tmp";
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, to);
}

std::string file_fingerprint(const fs::path& cert) {
  return trim(sh("openssl x509 -in " + cert.string() + " -noout -fingerprint -sha256").output);
}

// The certificate a fresh handshake presents right now.
std::string served_fingerprint(int port) {
  return trim(sh("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                 " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256")
                  .output);
}

Shell s_client(int port, const std::string& options) {
  return sh("openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + options + " </dev/null");
}

// Polls `condition` for up to 15 s.
template <class F>
bool eventually(F condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa = make_pair(tmp.path(), "first", "-newkey rsa:2048");
    ec = make_pair(tmp.path(), "second", "-newkey ec -pkeyopt ec_paramgen_curve:P-256");
    // What the server is configured with; tests replace these files.
    live = {tmp / "live.crt", tmp / "live.key"};
    install(rsa.cert, live.cert);
    install(rsa.key, live.key);
  }

  std::optional<ServerProcess> start_tls(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--tls-cert", live.cert.string(), "--tls-key", live.key.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return ServerProcess::start(tmp / "data", args, {}, /*https=*/true);
  }

  TempDir tmp;
  CertPair rsa, ec, live;
};

TEST_F(TlsTest, HttpsServesHealthAndTheDefaultPublicUrlIsHttps) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(contains(server->stdout_text(), "listening on https://127.0.0.1:" + std::to_string(server->port())));
  EXPECT_TRUE(contains(server->stderr_text(), "public_url=https://127.0.0.1:")) << server->stderr_text();
  EXPECT_TRUE(contains(server->stderr_text(), "tls certificate loaded: subject=CN=127.0.0.1,O=first"))
      << server->stderr_text();

  // A client that verifies the certificate (against the self-signed one as its CA) accepts it.
  httplib::SSLClient verifying("127.0.0.1", server->port());
  verifying.set_ca_cert_path(rsa.cert.c_str());
  verifying.enable_server_certificate_verification(true);
  auto verified = verifying.Get("/healthz");
  ASSERT_TRUE(verified) << httplib::to_string(verified.error());
  EXPECT_EQ(verified->status, 200);
}

TEST_F(TlsTest, OnlyTls12WithEcdheAeadAndTls13AreAccepted) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  // @SECLEVEL=0 so that the refusal is the server's, not OpenSSL 3's own client-side default.
  Shell v11 = s_client(server->port(), "-tls1_1 -cipher DEFAULT@SECLEVEL=0");
  EXPECT_NE(v11.exit_code, 0) << v11.output;
  EXPECT_TRUE(contains(v11.output, "alert protocol version") || contains(v11.output, "unsupported protocol"))
      << v11.output;
  Shell v12 = s_client(server->port(), "-tls1_2");
  EXPECT_EQ(v12.exit_code, 0) << v12.output;
  EXPECT_TRUE(contains(v12.output, "Protocol  : TLSv1.2")) << v12.output;
  EXPECT_TRUE(contains(v12.output, "Cipher    : ECDHE-RSA-")) << v12.output;
  Shell v13 = s_client(server->port(), "-tls1_3");
  EXPECT_EQ(v13.exit_code, 0) << v13.output;
  EXPECT_TRUE(contains(v13.output, "TLSv1.3")) << v13.output;
  // TLS 1.2 without forward secrecy, or with CBC instead of an AEAD: no shared cipher.
  for (const char* weak : {"AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"}) {
    Shell r = s_client(server->port(), std::string("-tls1_2 -cipher ") + weak);
    EXPECT_NE(r.exit_code, 0) << weak << "\n" << r.output;
  }
  std::printf("[tls] -tls1_1: exit %d: %s\n[tls] -tls1_2: exit %d, -tls1_3: exit %d\n", v11.exit_code,
              trim(v11.output.substr(0, 400)).c_str(), v12.exit_code, v13.exit_code);
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsNoHttpAnswer) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  RawConnection c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  std::string raw = c.read_until_close(std::chrono::seconds(8));
  EXPECT_FALSE(raw.starts_with("HTTP/")) << raw;
  EXPECT_EQ(count_responses(raw), 0) << raw;
  // And nothing about it disturbs HTTPS.
  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// The TLS listener is the same server underneath: the pre-routing guards, JSON errors, the API's
// authentication and the access log all apply unchanged.
TEST_F(TlsTest, GuardsAndRoutesApplyOverTlsAsOverHttp) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  auto client = server->client();
  auto spoofed = client.Get("/healthz", {{"REMOTE_ADDR", "6.6.6.6"}});
  ASSERT_TRUE(spoofed);
  EXPECT_EQ(spoofed->status, 400);
  httplib::Headers flood;
  for (int i = 0; i < 100; ++i) flood.emplace("X-Flood-" + std::to_string(i), "x");
  auto flooded = client.Get("/healthz", flood);
  ASSERT_TRUE(flooded);
  EXPECT_EQ(flooded->status, 431);
  auto compressed = client.Get("/healthz", {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->status, 415);
  auto unknown = client.Get("/no/such/endpoint");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(json::parse(unknown->body)["error"], "not_found");
  auto unauthenticated = client.Get("/api/v1/apps");
  ASSERT_TRUE(unauthenticated);
  EXPECT_EQ(unauthenticated->status, 401);

  // The admin page's session cookie is marked Secure: the default public URL is https://.
  auto tok = run_otaserver({"token", "create", "--data", (tmp / "data").string(), "--name", "tls", "--scope", "admin"});
  ASSERT_EQ(tok.exit_code, 0) << tok.err;
  auto session = client.Post("/api/v1/session", json{{"token", trim(tok.out)}}.dump(), "application/json");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 200) << session->body;
  EXPECT_TRUE(contains(session->get_header_value("Set-Cookie"), "; Secure")) << session->get_header_value("Set-Cookie");

  ASSERT_TRUE(server->stop(SIGTERM));
  EXPECT_TRUE(contains(server->stderr_text(), "method=GET path=/no/such/endpoint status=404"));
}

TEST_F(TlsTest, SighupPresentsTheNewCertificateWithoutRestarting) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  const std::string before = served_fingerprint(server->port());
  ASSERT_EQ(before, file_fingerprint(rsa.cert));

  install(ec.cert, live.cert);
  install(ec.key, live.key);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  std::string after;
  EXPECT_TRUE(eventually([&] { return (after = served_fingerprint(server->port())) == file_fingerprint(ec.cert); }))
      << after;
  EXPECT_TRUE(server->running());
  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(contains(server->stderr_text(), "tls certificate reloaded (SIGHUP): subject=CN=127.0.0.1,O=second"))
      << server->stderr_text();
  std::printf("[tls] pid %d before SIGHUP: %s\n[tls] pid %d after SIGHUP:  %s\n", server->pid(), before.c_str(),
              server->pid(), after.c_str());
  EXPECT_EQ(server->stop(SIGTERM), 0);
}

TEST_F(TlsTest, BrokenCertificateOnSighupKeepsTheOldOne) {
  auto server = start_tls();
  ASSERT_TRUE(server);
  const std::string before = served_fingerprint(server->port());

  std::ofstream(live.cert, std::ios::trunc) << "garbage, not a certificate\n";
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return contains(server->stderr_text(), "tls reload (SIGHUP) failed"); }))
      << server->stderr_text();
  EXPECT_TRUE(contains(server->stderr_text(), live.cert.string() + " holds no PEM certificate"));
  EXPECT_EQ(served_fingerprint(server->port()), before);

  // A certificate with somebody else's key: refused the same way.
  install(ec.cert, live.cert);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return contains(server->stderr_text(), "does not belong to the certificate"); }))
      << server->stderr_text();
  EXPECT_EQ(served_fingerprint(server->port()), before);
  EXPECT_TRUE(server->running());
  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

// An expired certificate is still served at startup (refusing to start would only turn
// certificate warnings into connection refused), but a reload never replaces a certificate with
// an expired one.
TEST_F(TlsTest, ExpiredCertificateIsServedAtStartButNeverReloadedOver) {
  // The openssl command line cannot backdate; the project's own certificate builder can.
  auto key = crypto::RsaPrivateKey::generate(2048);
  ASSERT_TRUE(key);
  const int64_t ten_days_ago_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count() -
      10LL * 86400 * 1000;
  auto cert = crypto::make_code_signing_certificate(*key, {"expired", ten_days_ago_ms, 1});
  ASSERT_TRUE(cert);
  CertPair expired{tmp / "expired.crt", tmp / "expired.key"};
  std::ofstream(expired.cert) << *cert;
  std::ofstream(expired.key) << key->private_pem();

  auto server = start_tls();
  ASSERT_TRUE(server);
  const std::string before = served_fingerprint(server->port());
  install(expired.cert, live.cert);
  install(expired.key, live.key);
  ASSERT_EQ(::kill(server->pid(), SIGHUP), 0);
  EXPECT_TRUE(eventually([&] { return contains(server->stderr_text(), "refused an expired certificate"); }))
      << server->stderr_text();
  EXPECT_EQ(served_fingerprint(server->port()), before);
  server.reset();

  auto on_expired = ServerProcess::start(
      tmp / "data2", {"--tls-cert", live.cert.string(), "--tls-key", live.key.string()}, {}, /*https=*/true);
  ASSERT_TRUE(on_expired);
  EXPECT_TRUE(contains(on_expired->stderr_text(), "the certificate EXPIRED")) << on_expired->stderr_text();
  EXPECT_EQ(served_fingerprint(on_expired->port()), file_fingerprint(expired.cert));
}

TEST_F(TlsTest, ChangedFilesAreReloadedWithoutASignal) {
  auto server = start_tls({"--tls-reload-check-s", "1"});
  ASSERT_TRUE(server);
  ASSERT_EQ(served_fingerprint(server->port()), file_fingerprint(rsa.cert));
  install(ec.key, live.key);  // a renewal writes one file after the other
  install(ec.cert, live.cert);
  std::string after;
  EXPECT_TRUE(eventually([&] { return (after = served_fingerprint(server->port())) == file_fingerprint(ec.cert); }))
      << after << "\n"
      << server->stderr_text();
  EXPECT_TRUE(contains(server->stderr_text(), "tls certificate reloaded (tls_cert or tls_key changed on disk)"));
  EXPECT_TRUE(server->running());
}

TEST_F(TlsTest, StartupRefusesABadPairNamingTheFile) {
  const std::vector<std::string> base = {"serve", "--data", (tmp / "data").string(), "--listen", "127.0.0.1:0"};
  auto serve = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_otaserver(args);
  };
  auto mismatch = serve({"--tls-cert", rsa.cert.string(), "--tls-key", ec.key.string()});
  EXPECT_EQ(mismatch.exit_code, 78);
  EXPECT_TRUE(contains(mismatch.err, ec.key.string()) && contains(mismatch.err, "does not belong")) << mismatch.err;

  const std::string missing = (tmp / "missing.crt").string();
  auto absent = serve({"--tls-cert", missing, "--tls-key", rsa.key.string()});
  EXPECT_EQ(absent.exit_code, 78);
  EXPECT_TRUE(contains(absent.err, missing)) << absent.err;

  auto half = serve({"--tls-cert", rsa.cert.string()});
  EXPECT_EQ(half.exit_code, 78);
  EXPECT_TRUE(contains(half.err, "tls_cert is set (flag --tls-cert) but tls_key is not")) << half.err;
  auto other_half = run_otaserver(base, {{"OTA_TLS_KEY", rsa.key.string()}});
  EXPECT_EQ(other_half.exit_code, 78);
  EXPECT_TRUE(contains(other_half.err, "tls_key is set (env OTA_TLS_KEY) but tls_cert is not")) << other_half.err;
  std::printf("[tls] startup errors:\n  %s\n  %s\n  %s\n", trim(mismatch.err).c_str(), trim(absent.err).c_str(),
              trim(half.err).c_str());
}

// ---- trusted proxies ------------------------------------------------------------------------------

class TrustedProxyTest : public ::testing::Test {
 protected:
  std::optional<ServerProcess> start(std::vector<std::string> extra) {
    auto server = ServerProcess::start(tmp / "data", extra);
    if (!server) return server;
    auto tok = run_otaserver(
        {"token", "create", "--data", (tmp / "data").string(), "--name", "proxy-test", "--scope", "admin"});
    EXPECT_EQ(tok.exit_code, 0) << tok.err;
    token = trim(tok.out);
    return server;
  }

  // Creates app `name` with this X-Forwarded-For and returns the peer its audit entry records.
  std::string audited_peer(ServerProcess& server, const std::string& name, const std::string& xff) {
    auto client = server.client();
    httplib::Headers headers = {{"Authorization", "Bearer " + token}, {"X-Forwarded-For", xff}};
    auto created = client.Post("/api/v1/apps", headers, json{{"name", name}}.dump(), "application/json");
    EXPECT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
    auto audit = client.Get("/api/v1/audit?limit=1", {{"Authorization", "Bearer " + token}});
    EXPECT_TRUE(audit && audit->status == 200);
    if (!audit) return {};
    json entry = json::parse(audit->body)["entries"][0];
    EXPECT_EQ(entry["action"], "app.create");
    EXPECT_EQ(entry["target"], name);
    return entry["peer"];
  }

  TempDir tmp;
  std::string token;
};

TEST_F(TrustedProxyTest, ForwardedClientIsWhatTheAccessAndAuditLogsRecord) {
  auto server = start({"--trusted-proxies", "127.0.0.1/32,::1/128"});
  ASSERT_TRUE(server);
  EXPECT_EQ(audited_peer(*server, "proxied", "203.0.113.7"), "203.0.113.7");
  // A client that sends its own X-Forwarded-For through the proxy only adds entries on the left.
  EXPECT_EQ(audited_peer(*server, "spoofed", "1.2.3.4, 203.0.113.7"), "203.0.113.7");
  // Malformed: the proxy chain cannot be believed, so the proxy itself is recorded.
  EXPECT_TRUE(audited_peer(*server, "malformed", "203.0.113.7:443").starts_with("127.0.0.1:"));
  ASSERT_TRUE(server->stop(SIGTERM));
  const std::string log = server->stderr_text();
  EXPECT_TRUE(contains(log, "peer=203.0.113.7 via=127.0.0.1:")) << log;
  EXPECT_TRUE(contains(log, "method=POST path=/api/v1/apps status=201")) << log;
  EXPECT_FALSE(contains(log, "peer=1.2.3.4")) << log;
}

TEST_F(TrustedProxyTest, WithoutTrustedProxiesTheHeaderIsIgnored) {
  auto server = start({});
  ASSERT_TRUE(server);
  EXPECT_TRUE(audited_peer(*server, "direct", "203.0.113.7").starts_with("127.0.0.1:"));
  ASSERT_TRUE(server->stop(SIGTERM));
  const std::string log = server->stderr_text();
  EXPECT_FALSE(contains(log, "203.0.113.7")) << log;
  EXPECT_TRUE(contains(log, "peer=127.0.0.1:")) << log;
}

TEST_F(TrustedProxyTest, ABadNetworkIsAConfigErrorNamingIt) {
  auto r = run_otaserver({"serve", "--data", (tmp / "data").string(), "--trusted-proxies", "127.0.0.1/32,10.0.0.5/8"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_TRUE(contains(r.err, "\"10.0.0.5/8\"") && contains(r.err, "10.0.0.0/8")) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "data")) << "a config error must not touch the data directory";
}

}  // namespace
}  // namespace ota::testing
