// Runs the real otaserver binary for end-to-end tests: on 127.0.0.1 with port 0, its port read
// from --port-file, its stdout and stderr captured in files, and always stopped by its PID.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include <httplib.h>

namespace ota::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `otaserver ARGS...` to completion (bounded by `timeout`) with `env` added.
CommandResult run_otaserver(const std::vector<std::string>& args,
                            const std::vector<std::pair<std::string, std::string>>& env = {},
                            std::chrono::seconds timeout = std::chrono::seconds(30));

class ServerProcess {
 public:
  // Starts `otaserver serve --data DATA --listen 127.0.0.1:0 --port-file ... EXTRA...` and waits
  // until /healthz answers. Fails the current test (and returns nullopt) if it does not.
  // `https`: the server was given a certificate; probe and talk to it over TLS (the certificate
  // is not verified: tests use self-signed ones).
  static std::optional<ServerProcess> start(const std::filesystem::path& data_dir,
                                            const std::vector<std::string>& extra_args = {},
                                            const std::vector<std::pair<std::string, std::string>>& env = {},
                                            bool https = false);
  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&& other) noexcept;
  ~ServerProcess();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string base_url() const { return (https_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_); }
  httplib::Client client() const;

  // Sends `sig` and waits up to `timeout` for exit; returns the exit code (or -signal).
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // kill -9 and reap.
  void kill9();
  bool running();

  std::string stderr_text() const;
  std::string stdout_text() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  int port_ = 0;
  bool https_ = false;
  std::filesystem::path work_;
};

}  // namespace ota::testing
