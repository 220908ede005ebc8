// A minimal cpp-httplib 0.11 server that answers every GET with one fixed response: the exact
// manifest body bytes otaserver sent, with the same Content-Type and response headers. It is the
// "HTTP layer only" anchor for bench/compare/run.sh (what otaserver would do if building the
// answer cost nothing). Tuned as docs/perf-baseline.md §3 says cpp-httplib 0.11 must be: a thread
// pool, keep-alive 1000 requests / 5 s, TCP_NODELAY, listen backlog 1024 (re-listen trick, since
// Debian's split libcpp-httplib.so ignores the CPPHTTPLIB_* macros).
//
// usage: min_httplib_same_bytes BODY_FILE HEADERS_FILE PORT_FILE [POOL=1024] [BACKLOG=1024]
//   BODY_FILE     the response body, sent byte for byte
//   HEADERS_FILE  "Name: value" lines; Content-Type is used as the body's type, the rest are added
//   PORT_FILE     the port it bound (it listens on 127.0.0.1, port chosen by the kernel) is written here
#include <httplib.h>
#include <sys/socket.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Server : httplib::Server {  // subclassed only to reach the listening socket
  void raise_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

bool read_file(const char* path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool iequals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BODY_FILE HEADERS_FILE PORT_FILE [POOL] [BACKLOG]\n", argv[0]);
    return 64;
  }
  static std::string body;
  if (!read_file(argv[1], &body)) {
    std::perror(argv[1]);
    return 66;
  }
  std::string header_text;
  if (!read_file(argv[2], &header_text)) {
    std::perror(argv[2]);
    return 66;
  }
  static std::string content_type = "application/octet-stream";
  static std::vector<std::pair<std::string, std::string>> headers;
  std::istringstream lines(header_text);
  for (std::string line; std::getline(lines, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (name.empty()) continue;
    if (iequals(name, "Content-Type")) {
      content_type = value;
    } else {
      headers.emplace_back(name, value);
    }
  }
  const int pool = argc > 4 ? std::atoi(argv[4]) : 1024;
  const int backlog = argc > 5 ? std::atoi(argv[5]) : 1024;

  Server svr;
  svr.new_task_queue = [pool] { return new httplib::ThreadPool(static_cast<size_t>(pool)); };
  svr.set_keep_alive_max_count(1000);
  svr.set_keep_alive_timeout(5);
  svr.set_tcp_nodelay(true);
  svr.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    for (const auto& [name, value] : headers) res.set_header(name.c_str(), value);
    res.set_content(body, content_type.c_str());
  });
  const int port = svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::perror("bind");
    return 1;
  }
  svr.raise_backlog(backlog);
  {
    std::ofstream pf(argv[3]);
    pf << port << "\n";
  }
  std::fprintf(stderr, "min_httplib_same_bytes on 127.0.0.1:%d, %zu-byte body, %zu extra headers, pool %d, backlog %d\n",
               port, body.size(), headers.size(), pool, backlog);
  return svr.listen_after_bind() ? 0 : 1;
}
