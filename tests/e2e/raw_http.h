// Raw TCP for tests that must send what no well-behaved client sends (smuggled bodies, header
// floods) and observe exactly what comes back, including whether the server closed the socket.
#pragma once

#include <chrono>
#include <string>

namespace ota::testing {

class RawConnection {
 public:
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send_all(const std::string& bytes);
  // Reads until the peer closes or `timeout` passes; returns what arrived.
  std::string read_until_close(std::chrono::milliseconds timeout);
  // True if read_until_close ended because the peer closed the connection.
  bool peer_closed() const { return peer_closed_; }

 private:
  int fd_ = -1;
  bool peer_closed_ = false;
};

// Counts "HTTP/1.x NNN" status lines in a raw response stream.
int count_responses(const std::string& raw);

}  // namespace ota::testing
