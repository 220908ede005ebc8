// The executable's life cycle as an operator sees it: first start, health, config errors, a
// second instance, kill -9 and restart, graceful stop, schema versions.
#include <csignal>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "server_process.h"
#include "storage/metadata/database.h"
#include "support/temp_dir.h"

namespace ota::testing {
namespace {

using nlohmann::json;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Serve, FirstStartCreatesDataDirAndServesHealth) {
  TempDir tmp;
  auto data = tmp / "data";
  auto server = ServerProcess::start(data);
  ASSERT_TRUE(server);

  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto body = json::parse(res->body);
  EXPECT_EQ(body["status"], "ok");
  EXPECT_EQ(body["version"], OTA_VERSION);
  EXPECT_GE(body["schema_version"].get<int>(), 1);
  EXPECT_TRUE(body.contains("uptime_s"));

  EXPECT_TRUE(std::filesystem::is_regular_file(data / "metadata.db"));
  EXPECT_TRUE(std::filesystem::is_directory(data / "blobs"));
  struct stat st {};
  ASSERT_EQ(::stat((data / "secret.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);

  // The bound address is reported on stdout.
  EXPECT_NE(server->stdout_text().find("listening on http://127.0.0.1:" + std::to_string(server->port())),
            std::string::npos);
}

TEST(Serve, LogsOneAccessLinePerRequest) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp / "data");
  ASSERT_TRUE(server);
  auto client = server->client();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.Get("/healthz?token=secret-value"));
  ASSERT_TRUE(server->stop(SIGTERM));
  std::string log = server->stderr_text();
  size_t lines = 0;
  for (size_t pos = 0; (pos = log.find("access id=", pos)) != std::string::npos; ++pos) ++lines;
  EXPECT_EQ(lines, 4u);  // the readiness probe plus three
  EXPECT_NE(log.find("method=GET path=/healthz status=200"), std::string::npos);
  // Query strings (which may carry signed tokens) never reach the log.
  EXPECT_EQ(log.find("secret-value"), std::string::npos);
}

TEST(Serve, UnknownEndpointIsJson404) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp / "data");
  ASSERT_TRUE(server);
  auto res = server->client().Get("/no/such/thing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  auto body = json::parse(res->body);
  EXPECT_EQ(body["error"], "not_found");
  EXPECT_NE(body["message"].get<std::string>().find("/no/such/thing"), std::string::npos);
}

TEST(Serve, KeepAliveConnectionServesManyRequests) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp / "data");
  ASSERT_TRUE(server);
  auto client = server->client();
  client.set_keep_alive(true);
  for (int i = 0; i < 50; ++i) {
    auto res = client.Get("/healthz");
    ASSERT_TRUE(res) << "request " << i;
    ASSERT_EQ(res->status, 200);
  }
}

TEST(Serve, SecondInstanceOnSameDataDirIsRefusedAndFirstKeepsServing) {
  TempDir tmp;
  auto data = tmp / "data";
  auto first = ServerProcess::start(data);
  ASSERT_TRUE(first);

  auto second = run_otaserver({"serve", "--data", data.string(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 75);
  EXPECT_NE(second.err.find("in use by otaserver pid " + std::to_string(first->pid())), std::string::npos)
      << second.err;

  auto res = first->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(Serve, RestartsCleanlyAfterKill9WithTheSameData) {
  TempDir tmp;
  auto data = tmp / "data";
  std::string secret;
  {
    auto server = ServerProcess::start(data);
    ASSERT_TRUE(server);
    secret = read_all(data / "secret.key");
    // Write metadata from outside while the server runs (WAL allows it), then kill -9.
    metadata::DatabaseOptions o;
    o.path = data / "metadata.db";
    auto db = metadata::Database::open(o);
    ASSERT_TRUE(db) << db.error().message();
    auto tx = (*db)->begin_write();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(tx->execute("INSERT INTO server_state (key, value) VALUES ('probe', 'kept')"));
    ASSERT_TRUE(tx->commit());
    server->kill9();
  }
  auto server = ServerProcess::start(data);
  ASSERT_TRUE(server);
  EXPECT_EQ(read_all(data / "secret.key"), secret);
  auto res = server->client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  metadata::DatabaseOptions o;
  o.path = data / "metadata.db";
  auto db = metadata::Database::open(o);
  ASSERT_TRUE(db);
  auto rtx = (*db)->begin_read();
  ASSERT_TRUE(rtx);
  auto q = rtx->query("SELECT value FROM server_state WHERE key = 'probe'");
  ASSERT_TRUE(q);
  auto row = q->next();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ(q->text(0), "kept");
}

TEST(Serve, SigtermStopsGracefullyAndRemovesPortFile) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp / "data");
  ASSERT_TRUE(server);
  auto code = server->stop(SIGTERM, std::chrono::seconds(10));
  ASSERT_TRUE(code) << "did not stop within 10 s";
  EXPECT_EQ(*code, 0);
  std::string log = server->stderr_text();
  EXPECT_NE(log.find("shutdown signal=SIGTERM"), std::string::npos);
  EXPECT_NE(log.find("stopped cleanly"), std::string::npos);
}

TEST(Serve, SigtermWaitsForKeepAliveClientsWithinTheBound) {
  TempDir tmp;
  auto server = ServerProcess::start(tmp / "data", {"--keep-alive-timeout-s", "1"});
  ASSERT_TRUE(server);
  auto client = server->client();
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/healthz"));  // leaves an idle keep-alive connection open
  auto started = std::chrono::steady_clock::now();
  auto code = server->stop(SIGTERM, std::chrono::seconds(10));
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Serve, RefusesASchemaNewerThanItKnows) {
  TempDir tmp;
  auto data = tmp / "data";
  {
    auto server = ServerProcess::start(data);
    ASSERT_TRUE(server);
    ASSERT_TRUE(server->stop(SIGTERM));
  }
  {
    metadata::DatabaseOptions o;
    o.path = data / "metadata.db";
    auto db = metadata::Database::open(o);
    ASSERT_TRUE(db);
    auto tx = (*db)->begin_write();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(tx->execute("INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES (999, 'future', 0)"));
    ASSERT_TRUE(tx->commit());
  }
  auto r = run_otaserver({"serve", "--data", data.string(), "--listen", "127.0.0.1:0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("schema version 999, newer than this otaserver knows"), std::string::npos) << r.err;
}

TEST(Config, UnknownFlagIsRefusedWithASuggestion) {
  auto r = run_otaserver({"serve", "--lisen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("unknown flag --lisen; did you mean --listen?"), std::string::npos) << r.err;
}

TEST(Config, BadValueNamesItsSourceAndTheExpectedForm) {
  auto r = run_otaserver({"--workers", "0"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("invalid value for workers (from flag --workers)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a whole number from 1 to 4096"), std::string::npos) << r.err;

  auto env = run_otaserver({"--print-config"}, {{"OTA_LISTEN", "localhost"}});
  EXPECT_EQ(env.exit_code, 78);
  EXPECT_NE(env.err.find("from env OTA_LISTEN"), std::string::npos) << env.err;
}

TEST(Config, FileErrorsNameTheLine) {
  TempDir tmp;
  std::ofstream(tmp / "ota.conf") << "# comment\nlisten = 127.0.0.1:0\nworkerz = 4\n";
  auto r = run_otaserver({"--config", (tmp / "ota.conf").string()});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("ota.conf:3: unknown setting \"workerz\"; did you mean workers?"), std::string::npos) << r.err;
}

TEST(Config, PrintConfigShowsEachValueAndItsSource) {
  TempDir tmp;
  std::ofstream(tmp / "ota.conf") << "workers = 32\nlog_level = warn\n";
  auto r = run_otaserver({"--config", (tmp / "ota.conf").string(), "--log-level", "debug", "--print-config"},
                         {{"OTA_PUBLIC_URL", "https://ota.example.com/"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("workers = 32"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ota.conf:1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("log_level = debug"), std::string::npos);
  EXPECT_NE(r.out.find("flag --log-level"), std::string::npos);
  EXPECT_NE(r.out.find("public_url = https://ota.example.com"), std::string::npos);
  EXPECT_NE(r.out.find("env OTA_PUBLIC_URL"), std::string::npos);
  EXPECT_NE(r.out.find("listen = 127.0.0.1:8080"), std::string::npos);
  EXPECT_NE(r.out.find("# default"), std::string::npos);
}

TEST(Cli, VersionAndHelp) {
  auto v = run_otaserver({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind(std::string("otaserver ") + OTA_VERSION, 0), 0u) << v.out;

  auto help = run_otaserver({"help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("serve"), std::string::npos);

  auto serve = run_otaserver({"help", "serve"});
  EXPECT_EQ(serve.exit_code, 0);
  for (const char* needle : {"--data", "--listen", "--public-url", "--log-level", "--config", "--port-file",
                             "OTA_LISTEN", "--print-config"}) {
    EXPECT_NE(serve.out.find(needle), std::string::npos) << needle;
  }

  auto unknown = run_otaserver({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 64);
  EXPECT_NE(unknown.err.find("unknown command \"frobnicate\""), std::string::npos);
}

}  // namespace
}  // namespace ota::testing
