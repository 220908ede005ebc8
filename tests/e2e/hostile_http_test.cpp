// The cpp-httplib 0.11.4 weaknesses that otaserver's own code mitigates (docs/reliability.md
// §4.1), sent as raw bytes to the real binary. Each answer is a clear 4xx (or a closed
// connection), and the server stays healthy.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raw_http.h"
#include "server_process.h"
#include "support/temp_dir.h"

namespace ota::testing {
namespace {

using namespace std::chrono_literals;

class HostileHttp : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = ServerProcess::start(tmp_ / "data");
    ASSERT_TRUE(server_);
  }
  void TearDown() override {
    if (!server_) return;
    auto res = server_->client().Get("/healthz");
    ASSERT_TRUE(res) << "server unhealthy after the attack";
    EXPECT_EQ(res->status, 200);
  }
  int port() const { return server_->port(); }

  TempDir tmp_;
  std::optional<ServerProcess> server_;
};

TEST_F(HostileHttp, ClientSentRemoteAddrIsRefused) {
  auto res = server_->client().Get("/healthz", {{"REMOTE_ADDR", "6.6.6.6"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(nlohmann::json::parse(res->body)["error"], "invalid_argument");
}

TEST_F(HostileHttp, HeaderFloodGets431) {
  httplib::Headers headers;
  for (int i = 0; i < 100; ++i) headers.emplace("X-Flood-" + std::to_string(i), "x");
  auto res = server_->client().Get("/healthz", headers);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 431);
}

TEST_F(HostileHttp, CompressedRequestBodyGets415) {
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n\r\n"));
  std::string raw = c.read_until_close(3s);
  EXPECT_NE(raw.find("HTTP/1.1 415"), std::string::npos) << raw;
}

// A body the server never reads must not be parsed as a second request on the same connection
// (W14, request smuggling): the answer is a 4xx and then the connection closes.
TEST_F(HostileHttp, UnreadBodyClosesTheConnectionAndIsNeverRunAsARequest) {
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  std::string inner = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(inner.size()) +
                         "\r\n\r\n"));
  std::this_thread::sleep_for(100ms);  // the body arrives in a later segment
  c.send_all(inner);
  std::string raw = c.read_until_close(3s);
  EXPECT_TRUE(c.peer_closed()) << raw;
  EXPECT_EQ(count_responses(raw), 1) << raw;
  EXPECT_NE(raw.find("HTTP/1.1 413"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos) << raw;
  EXPECT_EQ(server_->stderr_text().find("path=/smuggled"), std::string::npos);
}

TEST_F(HostileHttp, ChunkedBodyOnAGetIsRefusedAndClosed) {
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "5\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string raw = c.read_until_close(3s);
  EXPECT_TRUE(c.peer_closed());
  EXPECT_EQ(count_responses(raw), 1) << raw;
  EXPECT_EQ(server_->stderr_text().find("path=/smuggled"), std::string::npos);
}

TEST_F(HostileHttp, MultiRangeOnAJsonEndpointIsIgnored) {
  auto res = server_->client().Get("/healthz", {{"Range", "bytes=0-,0-,0-,0-,0-"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(nlohmann::json::accept(res->body)) << res->body;
}

TEST_F(HostileHttp, HandlerExceptionIsAGeneric500WithoutDetails) {
  auto res = server_->client().Get("/__test/throw");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  auto body = nlohmann::json::parse(res->body);
  EXPECT_EQ(body["error"], "internal");
  EXPECT_NE(body["message"].get<std::string>().find("request id"), std::string::npos);
  EXPECT_EQ(res->body.find("SQLITE"), std::string::npos);
  EXPECT_EQ(res->body.find("/var/lib"), std::string::npos);
  for (const auto& [name, value] : res->headers) {
    EXPECT_EQ(value.find("SQLITE"), std::string::npos) << name;
    EXPECT_NE(name, "EXCEPTION_WHAT");
  }
  // The operator still gets the detail, under the same request id.
  EXPECT_NE(server_->stderr_text().find("detail=SQLITE_IOERR"), std::string::npos);
}

TEST_F(HostileHttp, GarbageRequestLineGetsA4xx) {
  RawConnection c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("\x16\x03\x01\x02\x00garbage\r\n\r\n"));
  std::string raw = c.read_until_close(3s);
  EXPECT_TRUE(raw.empty() || raw.find("HTTP/1.1 4") == 0) << raw;
}

}  // namespace
}  // namespace ota::testing
