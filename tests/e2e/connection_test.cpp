// How the server treats connections, seen from raw TCP clients: idle keep-alive connections cost
// no worker, a client trickling its request cannot hold one, pipelined requests are answered in
// order, idle connections are closed after the keep-alive timeout, and clients beyond
// max_connections get a clear 503 instead of a hang.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

#include "raw_http.h"
#include "server_process.h"
#include "support/temp_dir.h"
#include "test_util.h"

namespace ota::testing {
namespace {

using namespace std::chrono_literals;

// A keep-alive client that reads one Content-Length response at a time.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~KeepAliveClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  bool connected() const { return fd_ >= 0; }

  bool send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  // One response (status line, headers, Content-Length body); empty on close or timeout.
  std::string read_response(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t head_end = buffer_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        size_t length = 0;
        std::string head = buffer_.substr(0, head_end);
        for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t at = head.find("content-length:");
        if (at != std::string::npos) length = std::stoul(head.substr(at + 15));
        if (buffer_.size() >= head_end + 4 + length) {
          std::string response = buffer_.substr(0, head_end + 4 + length);
          buffer_.erase(0, response.size());
          return response;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char chunk[8192];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Waits until the server closes the connection; false if it is still open after `timeout`.
  bool closed_by_server_within(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char byte;
    return ::recv(fd_, &byte, 1, MSG_PEEK) <= 0;
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

const std::string kHealthz = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

bool is_status(const std::string& response, int status) {
  return response.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0;
}

// The test itself holds a thousand sockets; the usual soft limit is 1024.
void raise_own_descriptor_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < 4096 && limit.rlim_max > limit.rlim_cur) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

class Connections : public ::testing::Test {
 protected:
  void start(const std::vector<std::string>& args) {
    server_ = ServerProcess::start(tmp_ / "data", args);
    ASSERT_TRUE(server_);
  }
  int port() const { return server_->port(); }

  TempDir tmp_;
  std::optional<ServerProcess> server_;
};

TEST_F(Connections, AThousandIdleKeepAliveConnectionsNeedNoWorkerAndDoNotDelayANewClient) {
  raise_own_descriptor_limit();
  start({"--workers", "4", "--access-log", "false"});
  std::vector<std::unique_ptr<KeepAliveClient>> idle;
  for (int i = 0; i < 1000; ++i) {
    auto client = std::make_unique<KeepAliveClient>(port());
    ASSERT_TRUE(client->connected()) << "connection " << i;
    ASSERT_TRUE(client->send(kHealthz));
    ASSERT_TRUE(is_status(client->read_response(), 200)) << "connection " << i;
    idle.push_back(std::move(client));
  }
  // 4 workers and 1,000 open connections: a newcomer is still answered at once.
  for (int probe = 0; probe < 5; ++probe) {
    auto t0 = std::chrono::steady_clock::now();
    KeepAliveClient fresh(port());
    ASSERT_TRUE(fresh.send(kHealthz));
    EXPECT_TRUE(is_status(fresh.read_response(), 200));
    EXPECT_LT(ms_since(t0), 1000.0) << "probe " << probe;
  }
  // And the idle ones are still open and usable.
  for (size_t i : {size_t{0}, size_t{499}, size_t{999}}) {
    ASSERT_TRUE(idle[i]->send(kHealthz));
    EXPECT_TRUE(is_status(idle[i]->read_response(), 200)) << "idle connection " << i;
  }
  auto metrics = server_->client().Get("/metrics");
  ASSERT_TRUE(metrics);
  size_t at = metrics->body.find("\notaserver_http_open_connections ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoul(metrics->body.substr(at + 33)), 1000u);
}

TEST_F(Connections, AClientTricklingItsRequestHoldsNoWorkerAndIsDroppedAtTheReadTimeout) {
  start({"--workers", "1", "--read-timeout-s", "4"});
  KeepAliveClient slow(port());
  ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));  // no blank line yet
  std::this_thread::sleep_for(200ms);
  // The only worker is free for others: well before the trickler's 4 s read timeout.
  auto t0 = std::chrono::steady_clock::now();
  KeepAliveClient fresh(port());
  ASSERT_TRUE(fresh.send(kHealthz));
  EXPECT_TRUE(is_status(fresh.read_response(), 200));
  EXPECT_LT(ms_since(t0), 2500.0);
  // The trickler is cut off at the read timeout (plus the once-a-second sweep).
  EXPECT_TRUE(slow.closed_by_server_within(10s));
}

TEST_F(Connections, ARequestArrivingInPiecesIsServedOnceComplete) {
  start({"--workers", "1"});
  const std::string body = R"({"appId":"nope","platform":"ios","appVersion":"1.0.0","build":"1"})";
  const std::string request =
      "POST /api/v1/patches/check HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  KeepAliveClient whole(port());
  ASSERT_TRUE(whole.send(request));
  std::string expected = whole.read_response();
  ASSERT_FALSE(expected.empty());

  KeepAliveClient pieces(port());
  for (size_t at = 0; at < request.size(); at += 16) {
    ASSERT_TRUE(pieces.send(request.substr(at, 16)));
    std::this_thread::sleep_for(20ms);
  }
  std::string answer = pieces.read_response();
  ASSERT_FALSE(answer.empty());
  EXPECT_EQ(answer.substr(0, answer.find("\r\n")), expected.substr(0, expected.find("\r\n")));
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n")), expected.substr(expected.find("\r\n\r\n")));
}

TEST_F(Connections, PipelinedRequestsAreAnsweredInOrder) {
  start({});
  KeepAliveClient client(port());
  ASSERT_TRUE(client.send(kHealthz + "GET /no-such-path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + kHealthz));
  EXPECT_TRUE(is_status(client.read_response(), 200));
  EXPECT_TRUE(is_status(client.read_response(), 404));
  EXPECT_TRUE(is_status(client.read_response(), 200));
}

TEST_F(Connections, AnIdleConnectionIsClosedAfterTheKeepAliveTimeout) {
  start({"--keep-alive-timeout-s", "1"});
  KeepAliveClient client(port());
  ASSERT_TRUE(client.send(kHealthz));
  std::string response = client.read_response();
  ASSERT_TRUE(is_status(response, 200));
  EXPECT_NE(response.find("Keep-Alive: timeout=1"), std::string::npos) << response;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_by_server_within(5s));
  EXPECT_GE(ms_since(t0), 500.0);
}

TEST_F(Connections, TheConnectionAfterMaxConnectionsGetsA503AndLaterOnesGetIn) {
  start({"--max-connections", "16"});
  std::vector<std::unique_ptr<KeepAliveClient>> open;
  std::string refusal;
  for (int i = 0; i < 20 && refusal.empty(); ++i) {
    auto client = std::make_unique<KeepAliveClient>(port());
    ASSERT_TRUE(client->connected());
    ASSERT_TRUE(client->send(kHealthz));
    std::string response = client->read_response();
    if (is_status(response, 503)) refusal = response;
    open.push_back(std::move(client));
  }
  ASSERT_FALSE(refusal.empty()) << "20 connections were all accepted with max_connections=16";
  EXPECT_LE(open.size(), 17u);
  auto body = nlohmann::json::parse(refusal.substr(refusal.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["error"], "unavailable");
  EXPECT_NE(refusal.find("Retry-After: 1"), std::string::npos);

  // Give one back: a newcomer gets in once the server has seen the close.
  open.front().reset();
  bool served = false;
  for (int attempt = 0; attempt < 20 && !served; ++attempt) {
    KeepAliveClient next(port());
    served = next.send(kHealthz) && is_status(next.read_response(), 200);
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served);
}

}  // namespace
}  // namespace ota::testing
