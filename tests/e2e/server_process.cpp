#include "server_process.h"

#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace ota::testing {
namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
            const std::filesystem::path& out, const std::filesystem::path& err) {
  std::vector<std::string> argv_s = {OTA_SERVER_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("OTA_")) continue;  // tests state their environment
    env_s.emplace_back(*e);
  }
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` up to `timeout`; returns the exit code, -signal, or nullopt if still running.
std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (r < 0) return std::nullopt;
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::filesystem::path make_work_dir() {
  std::string pattern = "/tmp/otaserver-e2e-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return "/tmp";
  return pattern;
}

}  // namespace

CommandResult run_otaserver(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env, std::chrono::seconds timeout) {
  auto work = make_work_dir();
  CommandResult result;
  pid_t pid = spawn(args, env, work / "out", work / "err");
  if (pid < 0) {
    ADD_FAILURE() << "cannot spawn " << OTA_SERVER_BINARY;
    return result;
  }
  auto code = wait_exit(pid, timeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ADD_FAILURE() << "otaserver did not finish within " << timeout.count() << " s";
  }
  result.exit_code = code.value_or(-1);
  result.out = slurp(work / "out");
  result.err = slurp(work / "err");
  std::filesystem::remove_all(work);
  return result;
}

std::optional<ServerProcess> ServerProcess::start(const std::filesystem::path& data_dir,
                                                  const std::vector<std::string>& extra_args,
                                                  const std::vector<std::pair<std::string, std::string>>& env,
                                                  bool https) {
  ServerProcess p;
  p.https_ = https;
  p.work_ = make_work_dir();
  auto port_file = p.work_ / "port";
  std::vector<std::string> args = {"serve", "--data", data_dir.string(), "--listen", "127.0.0.1:0",
                                   "--port-file", port_file.string()};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  p.pid_ = spawn(args, env, p.work_ / "stdout", p.work_ / "stderr");
  if (p.pid_ < 0) {
    ADD_FAILURE() << "cannot spawn " << OTA_SERVER_BINARY;
    return std::nullopt;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto code = wait_exit(p.pid_, std::chrono::milliseconds(0))) {
      ADD_FAILURE() << "otaserver exited with " << *code << " during startup; stderr:\n" << slurp(p.work_ / "stderr");
      p.pid_ = -1;
      return std::nullopt;
    }
    std::string text = slurp(port_file);
    if (!text.empty() && text.back() == '\n') {
      p.port_ = std::stoi(text);
      auto res = p.client().Get("/healthz");
      if (res && res->status == 200) return p;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "otaserver did not become healthy within 20 s; stderr:\n" << slurp(p.work_ / "stderr");
  return std::nullopt;
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(other.pid_), port_(other.port_), https_(other.https_), work_(std::move(other.work_)) {
  other.pid_ = -1;
  other.work_.clear();
}

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) kill9();
    pid_ = other.pid_;
    port_ = other.port_;
    https_ = other.https_;
    work_ = std::move(other.work_);
    other.pid_ = -1;
    other.work_.clear();
  }
  return *this;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill9();
  if (!work_.empty()) {
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "server output kept in %s\n", work_.c_str());
    } else {
      std::error_code ec;
      std::filesystem::remove_all(work_, ec);
    }
  }
}

httplib::Client ServerProcess::client() const {
  httplib::Client c(base_url());
  if (https_) c.enable_server_certificate_verification(false);
  c.set_connection_timeout(std::chrono::seconds(5));
  c.set_read_timeout(std::chrono::seconds(10));
  c.set_write_timeout(std::chrono::seconds(10));
  return c;
}

std::optional<int> ServerProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, sig);
  auto code = wait_exit(pid_, timeout);
  if (code) pid_ = -1;
  return code;
}

void ServerProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool ServerProcess::running() { return pid_ > 0 && !wait_exit(pid_, std::chrono::milliseconds(0)); }

std::string ServerProcess::stderr_text() const { return slurp(work_ / "stderr"); }
std::string ServerProcess::stdout_text() const { return slurp(work_ / "stdout"); }

}  // namespace ota::testing
