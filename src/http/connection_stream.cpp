#include "http/connection_stream.h"

#include "http/worker_gate.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

namespace ota::http {
namespace {

// The parser reads byte by byte; one recv fills this much at a time.
constexpr size_t kInputBufferBytes = 4096;
// A request is parsed only once its head (and a body up to this size) has arrived; larger input
// goes to the parser as it comes, which answers oversized heads with an error.
constexpr size_t kMaxBufferedRequest = 64 * 1024;
// Writes up to this size are held and sent together with the next one. A manifest (headers plus
// a multipart body of a few KiB) leaves in one send.
constexpr size_t kCoalesceBytes = 32 * 1024;
// Output buffers above this are released when the connection goes idle.
constexpr size_t kKeepOutputCapacity = 64 * 1024;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ConnectionStream::ConnectionStream(int fd, std::unique_ptr<crypto::TlsSession> tls, StreamTimeouts timeouts,
                                   SocketAddress peer, SocketAddress local)
    : fd_(fd), tls_(std::move(tls)), timeouts_(timeouts), peer_(std::move(peer)), local_(std::move(local)) {}

ConnectionStream::~ConnectionStream() {
  tls_.reset();  // SSL_free before the descriptor it uses is closed
  ::close(fd_);
}

bool ConnectionStream::wait_for(short events, int timeout_ms) const {
  WorkerGate::leave_current();  // another worker takes events while this one waits on its client
  pollfd p{fd_, events, 0};
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int remaining = static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
    int ready = ::poll(&p, 1, remaining);
    if (ready > 0) return true;  // readable, writable, or an error the next call will report
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool ConnectionStream::is_readable() const { return has_buffered_input() || wait_for(POLLIN, timeouts_.read_ms); }

bool ConnectionStream::has_buffered_input() const { return input_begin_ < input_end_ || (tls_ && tls_->pending() > 0); }

ssize_t ConnectionStream::receive(char* buffer, size_t size) {
  if (!tls_) {
    for (;;) {
      ssize_t n = ::recv(fd_, buffer, size, 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (!wait_for(POLLIN, timeouts_.read_ms)) return -1;
    }
  }
  const int64_t deadline = now_ms() + timeouts_.read_ms;
  for (;;) {
    size_t n = 0;
    crypto::TlsIo io = tls_->read(buffer, size, &n);
    if (io == crypto::TlsIo::kDone) return static_cast<ssize_t>(n);
    if (io == crypto::TlsIo::kClosed) return 0;
    if (io == crypto::TlsIo::kFailed) return -1;
    int remaining = static_cast<int>(deadline - now_ms());
    if (remaining <= 0 || !wait_for(io == crypto::TlsIo::kWantRead ? POLLIN : POLLOUT, remaining)) return -1;
  }
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  // Whatever we answered so far (e.g. "100 Continue") must reach the client before we wait on it.
  if (!output_.empty() && !flush()) return -1;
  if (size == 0) return 0;
  if (input_begin_ == input_end_) {
    if (size >= kInputBufferBytes) return receive(ptr, size);  // large body reads skip the copy
    if (!input_) {
      input_ = std::make_unique<char[]>(kInputBufferBytes);
      input_capacity_ = kInputBufferBytes;
    }
    ssize_t n = receive(input_.get(), input_capacity_);
    if (n <= 0) return n;
    input_begin_ = 0;
    input_end_ = static_cast<size_t>(n);
  }
  size_t n = std::min(size, input_end_ - input_begin_);
  std::memcpy(ptr, input_.get() + input_begin_, n);
  input_begin_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (broken_) return -1;
  if (output_.size() + size <= kCoalesceBytes) {
    output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  if (!send_all(output_.data(), output_.size(), ptr, size)) return -1;
  output_.clear();
  return static_cast<ssize_t>(size);
}

bool ConnectionStream::flush() {
  if (output_.empty()) return !broken_;
  if (!send_all(output_.data(), output_.size(), nullptr, 0)) return false;
  output_.clear();
  return true;
}

void ConnectionStream::trim() {
  if (output_.capacity() > kKeepOutputCapacity) std::string().swap(output_);
}

bool ConnectionStream::send_all(const char* first, size_t first_size, const char* second, size_t second_size) {
  if (broken_) return false;
  bool sent = tls_ ? send_tls(first, first_size) && send_tls(second, second_size)
                   : send_plain(first, first_size, second, second_size);
  if (!sent) broken_ = true;
  return sent;
}

bool ConnectionStream::send_plain(const char* first, size_t first_size, const char* second, size_t second_size) {
  iovec parts[2] = {{const_cast<char*>(first), first_size}, {const_cast<char*>(second), second_size}};
  iovec* next = first_size > 0 ? parts : parts + 1;
  int count = first_size > 0 ? 2 : 1;
  if (second_size == 0) --count;
  while (count > 0) {
    msghdr message{};
    message.msg_iov = next;
    message.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_for(POLLOUT, timeouts_.write_ms)) continue;
      return false;
    }
    auto sent = static_cast<size_t>(n);
    while (count > 0 && sent >= next->iov_len) {
      sent -= next->iov_len;
      ++next;
      --count;
    }
    if (count > 0) {
      next->iov_base = static_cast<char*>(next->iov_base) + sent;
      next->iov_len -= sent;
    }
  }
  return true;
}

bool ConnectionStream::send_tls(const char* data, size_t size) {
  while (size > 0) {
    size_t n = 0;
    crypto::TlsIo io = tls_->write(data, size, &n);
    if (io == crypto::TlsIo::kDone) {
      data += n;
      size -= n;
      continue;
    }
    if (io != crypto::TlsIo::kWantRead && io != crypto::TlsIo::kWantWrite) return false;
    if (!wait_for(io == crypto::TlsIo::kWantRead ? POLLIN : POLLOUT, timeouts_.write_ms)) return false;
  }
  return true;
}

ConnectionStream::Progress ConnectionStream::handshake() {
  if (!tls_ || tls_->handshake_done()) return Progress::kReady;
  for (;;) {
    crypto::TlsIo io = tls_->handshake();
    if (io == crypto::TlsIo::kDone) return Progress::kReady;
    if (io == crypto::TlsIo::kWantRead) return Progress::kNeedMore;
    // A full socket send buffer mid-handshake: rare, and short to wait out.
    if (io != crypto::TlsIo::kWantWrite || !wait_for(POLLOUT, timeouts_.write_ms)) return Progress::kClosed;
  }
}

bool ConnectionStream::make_input_room() {
  if (!input_) {
    input_ = std::make_unique<char[]>(kInputBufferBytes);
    input_capacity_ = kInputBufferBytes;
  }
  if (input_begin_ == input_end_) input_begin_ = input_end_ = 0;
  if (input_end_ < input_capacity_) return true;
  if (input_begin_ > 0) {
    std::memmove(input_.get(), input_.get() + input_begin_, input_end_ - input_begin_);
    input_end_ -= input_begin_;
    input_begin_ = 0;
    return true;
  }
  if (input_capacity_ >= kMaxBufferedRequest) return false;
  auto larger = std::make_unique<char[]>(kMaxBufferedRequest);
  std::memcpy(larger.get(), input_.get(), input_end_);
  input_ = std::move(larger);
  input_capacity_ = kMaxBufferedRequest;
  return true;
}

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

// Whether the buffered bytes hold a whole request head and, when it announces a small body
// with Content-Length, that body too.
bool ConnectionStream::request_buffered() const {
  std::string_view input(input_.get() + input_begin_, input_end_ - input_begin_);
  size_t head_end = input.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  std::string_view head = input.substr(0, head_end + 2);
  size_t body = 0;
  for (size_t line = head.find("\r\n"); line != std::string_view::npos && line + 2 < head.size();) {
    size_t start = line + 2;
    size_t end = head.find("\r\n", start);
    std::string_view field = head.substr(start, end - start);
    line = end;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = field.substr(0, colon);
    if (equals_ignoring_case(name, "Transfer-Encoding")) return true;  // streamed by the parser
    if (!equals_ignoring_case(name, "Content-Length")) continue;
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    size_t length = 0;
    for (char c : value) {
      if (c < '0' || c > '9') break;
      length = length * 10 + static_cast<size_t>(c - '0');
      if (length > kMaxBufferedRequest) return true;  // large uploads are read as they come
    }
    body = length;
  }
  return input.size() - (head_end + 4) >= body || head_end + 4 + body > kMaxBufferedRequest;
}

ConnectionStream::Progress ConnectionStream::poll_request() {
  for (;;) {
    if (input_begin_ < input_end_ && request_buffered()) return Progress::kReady;
    if (!make_input_room()) return Progress::kReady;  // 64 KiB without a whole request: the parser refuses it
    char* free_space = input_.get() + input_end_;
    const size_t room = input_capacity_ - input_end_;
    ssize_t n = 0;
    if (tls_) {
      size_t got = 0;
      crypto::TlsIo io = tls_->read(free_space, room, &got);
      if (io == crypto::TlsIo::kDone) {
        n = static_cast<ssize_t>(got);
      } else if (io == crypto::TlsIo::kWantRead) {
        return Progress::kNeedMore;
      } else if (io == crypto::TlsIo::kWantWrite) {
        if (!wait_for(POLLOUT, timeouts_.write_ms)) return Progress::kClosed;
        continue;
      } else {
        n = io == crypto::TlsIo::kClosed ? 0 : -1;
      }
    } else {
      n = ::recv(fd_, free_space, room, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Progress::kNeedMore;
    }
    if (n <= 0) {
      // End of stream or an error. Mid-request, let the parser meet it (it answers nothing and
      // the connection closes); between requests there is nothing to answer.
      return input_begin_ < input_end_ ? Progress::kReady : Progress::kClosed;
    }
    input_end_ += static_cast<size_t>(n);
  }
}

void ConnectionStream::say_goodbye() {
  if (tls_ && !broken_) tls_->notify_close();
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = peer_.ip;
  port = peer_.port;
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = local_.ip;
  port = local_.port;
}

}  // namespace ota::http
