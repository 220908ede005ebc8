#include "http/connection_loop.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/thread_annotations.h"
#include "http/worker_gate.h"

namespace ota::http {
namespace {

constexpr uint32_t kListenerIndex = 0xffffffffu;
constexpr uint32_t kWakeIndex = 0xfffffffeu;
constexpr int kAcceptBatch = 64;

// A slot's state and generation share one word, so "claim it if it is still that idle
// connection" is a single compare-and-swap.
enum SlotState : uint64_t { kFree = 0, kIdle = 1, kBusy = 2 };
constexpr uint64_t pack(uint32_t generation, SlotState state) { return (uint64_t{generation} << 32) | state; }
constexpr uint32_t generation_of(uint64_t word) { return static_cast<uint32_t>(word >> 32); }
constexpr SlotState state_of(uint64_t word) { return static_cast<SlotState>(word & 0xffffffffu); }
constexpr uint64_t event_data(uint32_t index, uint32_t generation) { return (uint64_t{generation} << 32) | index; }

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

SocketAddress describe(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST] = "";
  char service[NI_MAXSERV] = "";
  SocketAddress result;
  if (::getnameinfo(address, length, host, sizeof host, service, sizeof service, NI_NUMERICHOST | NI_NUMERICSERV) ==
      0) {
    result.ip = host;
    result.port = std::atoi(service);
  }
  return result;
}

// What a client beyond max_connections is told before its connection is closed.
constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    "Connection: close\r\nContent-Length: 96\r\n\r\n"
    "{\"error\":\"unavailable\",\"message\":\"the server has too many open connections; retry in a moment\"}\n";
static_assert(kBusyResponse.size() - kBusyResponse.find("\r\n\r\n") - 4 == 96);

}  // namespace

struct ConnectionLoop::Impl {
  struct Connection {
    Connection(int fd, std::unique_ptr<crypto::TlsSession> tls, StreamTimeouts timeouts, SocketAddress peer,
               SocketAddress local)
        : stream(fd, std::move(tls), timeouts, std::move(peer), std::move(local)) {}
    ConnectionStream stream;
    size_t served = 0;
    int64_t request_started_ms = 0;  // first bytes of a request still incomplete; 0: none
  };

  enum class After { kClose, kIdle, kPartial };

  struct Slot {
    // Orders "mark idle, then re-arm" (a worker) against "claim an expired idle connection"
    // (housekeeping): without it the sweeper could close the descriptor between the two steps,
    // and the re-arm would land on whatever connection reused the number.
    std::mutex arm_mutex;
    std::atomic<uint64_t> word{pack(0, kFree)};
    int64_t idle_since_ms OTA_GUARDED_BY(arm_mutex) = 0;
    int64_t deadline_ms OTA_GUARDED_BY(arm_mutex) = 0;  // housekeeping closes it then if still idle
    std::unique_ptr<Connection> connection;             // touched only by the slot's current owner
  };

  ConnectionLoopOptions options;
  const crypto::TlsServerContext* tls;
  ServeOne serve;
  WorkerGate gate;

  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stop_requested{false};
  std::atomic<size_t> open{0};

  std::unique_ptr<Slot[]> slots;
  std::mutex free_mutex;
  std::vector<uint32_t> free_slots OTA_GUARDED_BY(free_mutex);

  std::mutex housekeeping_mutex;
  std::condition_variable housekeeping_wake;
  std::atomic<int64_t> last_accept_warning_ms{0};

  Impl(ConnectionLoopOptions o, const crypto::TlsServerContext* t, ServeOne s)
      : options(o),
        tls(t),
        serve(std::move(s)),
        gate(std::min(o.workers, o.running_workers)),
        slots(std::make_unique<Slot[]>(o.max_connections)) {
    std::lock_guard lock(free_mutex);
    free_slots.reserve(options.max_connections);
    for (size_t i = options.max_connections; i > 0; --i) free_slots.push_back(static_cast<uint32_t>(i - 1));
  }

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void warn_rarely(const std::string& message) {
    int64_t now = steady_ms();
    int64_t last = last_accept_warning_ms.load(std::memory_order_relaxed);
    if (now - last < 10000 || !last_accept_warning_ms.compare_exchange_strong(last, now)) return;
    spdlog::warn("{}", message);
  }

  // --- accepting ---

  void accept_ready() {
    for (int i = 0; i < kAcceptBatch; ++i) {
      sockaddr_storage peer{};
      socklen_t peer_length = sizeof peer;
      int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINVAL) return;
        // Out of descriptors or memory: the pending connection stays queued and the listener
        // stays readable, so pause instead of spinning on it.
        warn_rarely(std::string("cannot accept connections: ") + std::strerror(errno) +
                    " (raise LimitNOFILE / ulimit -n, or lower max_connections)");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return;
      }
      adopt(fd, reinterpret_cast<sockaddr*>(&peer), peer_length);
    }
  }

  void adopt(int fd, const sockaddr* peer, socklen_t peer_length) {
    int on = 1;
    // Without TCP_NODELAY a keep-alive client waits for the delayed ACK: ~40 requests/s.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    std::optional<uint32_t> index = take_slot();
    if (!index) {
      warn_rarely("refusing connections: " + std::to_string(options.max_connections) + " are open (max_connections)");
      (void)::send(fd, kBusyResponse.data(), kBusyResponse.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      return;
    }
    std::unique_ptr<crypto::TlsSession> session;
    if (tls != nullptr) {
      session = crypto::TlsSession::create(*tls, fd);
      if (!session) {
        ::close(fd);
        give_back(*index);
        return;
      }
    }
    sockaddr_storage local{};
    socklen_t local_length = sizeof local;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length);
    Slot& slot = slots[*index];
    slot.connection =
        std::make_unique<Connection>(fd, std::move(session), options.timeouts, describe(peer, peer_length),
                                     describe(reinterpret_cast<sockaddr*>(&local), local_length));
    open.fetch_add(1, std::memory_order_relaxed);
    const uint32_t generation = generation_of(slot.word.load(std::memory_order_relaxed));
    std::lock_guard lock(slot.arm_mutex);
    slot.idle_since_ms = steady_ms();
    // The first request (and the TLS handshake) must arrive within the read timeout.
    slot.deadline_ms = slot.idle_since_ms + options.timeouts.read_ms;
    slot.word.store(pack(generation, kIdle), std::memory_order_release);
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    event.data.u64 = event_data(*index, generation);
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
      slot.word.store(pack(generation, kBusy), std::memory_order_relaxed);
      close_slot(*index, generation);
    }
  }

  std::optional<uint32_t> take_slot() {
    std::lock_guard lock(free_mutex);
    if (free_slots.empty()) return std::nullopt;
    uint32_t index = free_slots.back();
    free_slots.pop_back();
    return index;
  }

  void give_back(uint32_t index) {
    std::lock_guard lock(free_mutex);
    free_slots.push_back(index);
  }

  // The caller owns the slot (kBusy). Closing the descriptor also drops it from the epoll set.
  void close_slot(uint32_t index, uint32_t generation) {
    Slot& slot = slots[index];
    if (slot.connection) {
      slot.connection->stream.say_goodbye();
      ::shutdown(slot.connection->stream.fd(), SHUT_RDWR);
      slot.connection.reset();
      open.fetch_sub(1, std::memory_order_relaxed);
    }
    slot.word.store(pack(generation + 1, kFree), std::memory_order_release);
    give_back(index);
  }

  // --- serving ---

  void worker() {
    gate.adopt_this_thread();
    struct LeaveOnExit {
      WorkerGate& gate;
      ~LeaveOnExit() { gate.leave(); }  // lets the next waiting worker in to see the stop too
    } leave_on_exit{gate};
    for (;;) {
      gate.enter();
      epoll_event event{};
      int n = ::epoll_wait(epoll_fd, &event, 1, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        spdlog::error("epoll_wait failed: {}; a worker stops", std::strerror(errno));
        return;
      }
      if (n == 0) continue;
      const auto index = static_cast<uint32_t>(event.data.u64);
      if (index == kWakeIndex) return;  // stop(): the eventfd stays readable, so every worker sees it
      if (index == kListenerIndex) {
        if (!stop_requested.load(std::memory_order_relaxed)) accept_ready();
        continue;
      }
      handle(index, static_cast<uint32_t>(event.data.u64 >> 32));
    }
  }

  void handle(uint32_t index, uint32_t generation) {
    Slot& slot = slots[index];
    uint64_t expected = pack(generation, kIdle);
    // A late event for a connection that housekeeping closed (or that was replaced) fails here.
    if (!slot.word.compare_exchange_strong(expected, pack(generation, kBusy), std::memory_order_acq_rel)) return;
    Connection& connection = *slot.connection;
    const After after = serve_connection(connection);
    if (after == After::kClose || stop_requested.load(std::memory_order_relaxed)) {
      close_slot(index, generation);
      return;
    }
    connection.stream.trim();
    const int64_t now = steady_ms();
    std::unique_lock lock(slot.arm_mutex);
    slot.idle_since_ms = now;
    slot.deadline_ms = after == After::kPartial ? connection.request_started_ms + options.timeouts.read_ms
                                                : now + int64_t{options.idle_timeout_s} * 1000;
    slot.word.store(pack(generation, kIdle), std::memory_order_release);
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    event.data.u64 = event_data(index, generation);
    if (::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, connection.stream.fd(), &event) != 0) {
      slot.word.store(pack(generation, kBusy), std::memory_order_relaxed);
      lock.unlock();
      close_slot(index, generation);
    }
  }

  // Serves every request the connection has ready, without waiting for a client that is
  // still sending one: that connection goes back to the set with a deadline instead.
  After serve_connection(Connection& connection) {
    ConnectionStream& stream = connection.stream;
    for (;;) {
      ConnectionStream::Progress progress = stream.handshake();
      if (progress == ConnectionStream::Progress::kReady) progress = stream.poll_request();
      if (progress == ConnectionStream::Progress::kClosed) return After::kClose;
      if (progress == ConnectionStream::Progress::kNeedMore) {
        if (!stream.has_buffered_input() && stream.handshake_done()) {
          connection.request_started_ms = 0;
          return After::kIdle;
        }
        if (connection.request_started_ms == 0) connection.request_started_ms = steady_ms();
        return After::kPartial;
      }
      connection.request_started_ms = 0;
      const bool last =
          ++connection.served >= options.max_requests_per_connection || stop_requested.load(std::memory_order_relaxed);
      const bool keep = serve(stream, last);
      if (!stream.flush() || !keep || last) return After::kClose;
      if (!stream.has_buffered_input()) return After::kIdle;
    }
  }

  // --- housekeeping ---

  void housekeeping() {
    std::unique_lock lock(housekeeping_mutex);
    while (!stop_requested.load()) {
      housekeeping_wake.wait_for(lock, std::chrono::seconds(1));
      if (stop_requested.load()) break;
      close_idle();
    }
  }

  void close_idle() {
    // Nearly full: keep-alive is a courtesy, new clients come first.
    const bool crowded = open.load(std::memory_order_relaxed) * 10 >= options.max_connections * 9;
    const int64_t now = steady_ms();
    for (size_t i = 0; i < options.max_connections; ++i) {
      Slot& slot = slots[i];
      uint64_t word = slot.word.load(std::memory_order_acquire);
      if (state_of(word) != kIdle) continue;
      {
        std::lock_guard arm(slot.arm_mutex);
        word = slot.word.load(std::memory_order_acquire);
        if (state_of(word) != kIdle) continue;
        const bool expired = now >= slot.deadline_ms || (crowded && now - slot.idle_since_ms >= 1000);
        if (!expired || !slot.word.compare_exchange_strong(word, pack(generation_of(word), kBusy))) continue;
      }
      close_slot(static_cast<uint32_t>(i), generation_of(word));
    }
  }

  void close_all() {
    for (size_t i = 0; i < options.max_connections; ++i) {
      uint64_t word = slots[i].word.load();
      if (state_of(word) == kFree) continue;
      close_slot(static_cast<uint32_t>(i), generation_of(word));
    }
  }
};

ConnectionLoop::ConnectionLoop(ConnectionLoopOptions options, const crypto::TlsServerContext* tls, ServeOne serve)
    : impl_(std::make_unique<Impl>(options, tls, std::move(serve))) {}

ConnectionLoop::~ConnectionLoop() = default;

Result<int> ConnectionLoop::bind(const std::string& host, int port) {
  Impl& m = *impl_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(port);
  int lookup = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
  if (lookup != 0) {
    return Error(ErrorCode::kInvalidArgument, "cannot listen on " + host + ": not an address (" +
                                                  ::gai_strerror(lookup) + "); use e.g. 0.0.0.0 or ::1");
  }
  std::string why = "no usable address";
  for (addrinfo* a = found; a != nullptr && m.listen_fd < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (a->ai_family == AF_INET6) {
      int off = 0;  // "::" accepts IPv4 too, as the library did
      ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, m.options.backlog) == 0) {
      m.listen_fd = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (m.listen_fd < 0) {
    return Error(ErrorCode::kUnavailable, "cannot listen on " + host + ":" + service + " (" + why +
                                              "); choose another address or port with --listen");
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  ::getsockname(m.listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  int bound_port = describe(reinterpret_cast<sockaddr*>(&bound), bound_length).port;

  m.epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  m.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (m.epoll_fd < 0 || m.wake_fd < 0)
    return internal_error(std::string("cannot create epoll: ") + std::strerror(errno));
  epoll_event listen_event{};
  listen_event.events = EPOLLIN;
  listen_event.data.u64 = event_data(kListenerIndex, 0);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = event_data(kWakeIndex, 0);
  if (::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.listen_fd, &listen_event) != 0 ||
      ::epoll_ctl(m.epoll_fd, EPOLL_CTL_ADD, m.wake_fd, &wake_event) != 0) {
    return internal_error(std::string("cannot watch the listener: ") + std::strerror(errno));
  }
  return bound_port;
}

Status ConnectionLoop::run() {
  Impl& m = *impl_;
  if (m.epoll_fd < 0) return internal_error("ConnectionLoop::run before bind");
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(m.options.workers));
  std::thread housekeeping([&m] { m.housekeeping(); });
  for (int i = 0; i < m.options.workers; ++i) threads.emplace_back([&m] { m.worker(); });
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(m.housekeeping_mutex);
    m.stop_requested = true;
  }
  m.housekeeping_wake.notify_all();
  housekeeping.join();
  m.close_all();
  return ok();
}

void ConnectionLoop::stop() {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.housekeeping_mutex);
    m.stop_requested = true;
  }
  m.housekeeping_wake.notify_all();
  if (m.listen_fd >= 0) {
    ::epoll_ctl(m.epoll_fd, EPOLL_CTL_DEL, m.listen_fd, nullptr);
    ::shutdown(m.listen_fd, SHUT_RDWR);  // new connections are refused from now on
  }
  if (m.wake_fd >= 0) {
    uint64_t one = 1;
    (void)::write(m.wake_fd, &one, sizeof one);
  }
}

bool ConnectionLoop::stopping() const { return impl_->stop_requested.load(); }

size_t ConnectionLoop::open_connections() const { return impl_->open.load(std::memory_order_relaxed); }

}  // namespace ota::http
