// A small client for otaserver's own /api/v1, used by the CLI commands (app create, keys
// generate, publish). Lives here because http/ is the only module that includes httplib.h.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace ota::http {

struct ClientOptions {
  std::string server;  // http://host:port or https://host[:port], optional path prefix not supported
  std::string token;   // sent as Authorization: Bearer
  int timeout_s = 120;
};

struct ApiResponse {
  int status = 0;
  std::string body;
};

class ApiClient {
 public:
  static Result<ApiClient> connect(const ClientOptions& options);
  ApiClient(ApiClient&&) noexcept;
  ~ApiClient();

  // Each returns the response for 2xx; any other status becomes an Error carrying the server's
  // message (its JSON "message"), and a transport failure says the server could not be reached.
  Result<ApiResponse> get(const std::string& path);
  Result<ApiResponse> post_json(const std::string& path, const std::string& json);
  Result<ApiResponse> patch_json(const std::string& path, const std::string& json);
  Result<ApiResponse> put_bytes(const std::string& path, std::string_view bytes);
  Result<ApiResponse> put_json(const std::string& path, const std::string& json);
  Result<ApiResponse> del(const std::string& path);
  // A GET whose 2xx body goes to `receiver` piece by piece as it arrives (large downloads such as
  // backups). A non-2xx answer becomes an Error with the server's message; so does a receiver error.
  Status get_stream(const std::string& path, const std::function<Status(std::string_view)>& receiver);

 private:
  struct Impl;
  explicit ApiClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ota::http
