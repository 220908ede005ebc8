#include "http/client.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace ota::http {
namespace {

ErrorCode code_for_status(int status) {
  switch (status) {
    case 400: return ErrorCode::kInvalidArgument;
    case 401: return ErrorCode::kUnauthorized;
    case 403: return ErrorCode::kForbidden;
    case 404: return ErrorCode::kNotFound;
    case 409: return ErrorCode::kConflict;
    case 413: return ErrorCode::kTooLarge;
    case 507: return ErrorCode::kNoSpace;
    case 503: return ErrorCode::kUnavailable;
    default: return status >= 500 ? ErrorCode::kInternal : ErrorCode::kInvalidArgument;
  }
}

}  // namespace

struct ApiClient::Impl {
  std::string server;
  httplib::Client client;
  httplib::Headers headers;
  Impl(const std::string& url) : server(url), client(url) {}

  Result<ApiResponse> finish(const httplib::Result& r) {
    if (!r) {
      return unavailable("cannot reach " + server + " (" + httplib::to_string(r.error()) +
                         "); is the server running, and is --server right?");
    }
    ApiResponse out{r->status, r->body};
    if (r->status >= 200 && r->status < 300) return out;
    std::string message = r->body.substr(0, 500);
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("message") && j["message"].is_string()) {
      message = j["message"].get<std::string>();
    }
    return Error(code_for_status(r->status), "server answered " + std::to_string(r->status) + ": " + message);
  }
};

ApiClient::ApiClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiClient::ApiClient(ApiClient&&) noexcept = default;
ApiClient::~ApiClient() = default;

Result<ApiClient> ApiClient::connect(const ClientOptions& options) {
  std::string url = options.server;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (!starts_with(url, "http://") && !starts_with(url, "https://")) {
    return invalid_argument("--server must be an http:// or https:// URL, e.g. http://127.0.0.1:8080");
  }
  if (options.token.empty()) {
    return invalid_argument("an admin token is needed: pass --token or set OTA_TOKEN (create one with "
                            "`otaserver token create --data DIR --name NAME --scope admin`)");
  }
  auto impl = std::make_unique<Impl>(url);
  impl->client.set_connection_timeout(10);
  impl->client.set_read_timeout(options.timeout_s);
  impl->client.set_write_timeout(options.timeout_s);
  impl->client.set_tcp_nodelay(true);
  impl->client.set_keep_alive(true);
  impl->headers = {{"Authorization", "Bearer " + options.token}};
  return ApiClient(std::move(impl));
}

Result<ApiResponse> ApiClient::get(const std::string& path) {
  return impl_->finish(impl_->client.Get(path.c_str(), impl_->headers));
}

Result<ApiResponse> ApiClient::post_json(const std::string& path, const std::string& json) {
  return impl_->finish(impl_->client.Post(path.c_str(), impl_->headers, json, "application/json"));
}

Result<ApiResponse> ApiClient::patch_json(const std::string& path, const std::string& json) {
  return impl_->finish(impl_->client.Patch(path.c_str(), impl_->headers, json, "application/json"));
}

Result<ApiResponse> ApiClient::put_bytes(const std::string& path, std::string_view bytes) {
  return impl_->finish(impl_->client.Put(path.c_str(), impl_->headers, bytes.data(), bytes.size(),
                                         "application/octet-stream"));
}

Result<ApiResponse> ApiClient::put_json(const std::string& path, const std::string& json) {
  return impl_->finish(impl_->client.Put(path.c_str(), impl_->headers, json, "application/json"));
}

Result<ApiResponse> ApiClient::del(const std::string& path) {
  return impl_->finish(impl_->client.Delete(path.c_str(), impl_->headers));
}

Status ApiClient::get_stream(const std::string& path, const std::function<Status(std::string_view)>& receiver) {
  int status = 0;
  std::string error_body;
  Status received = ok();
  auto r = impl_->client.Get(
      path.c_str(), impl_->headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t length) {
        if (status < 200 || status >= 300) {
          if (error_body.size() < 64 * 1024) error_body.append(data, length);
          return true;
        }
        received = receiver(std::string_view(data, length));
        return static_cast<bool>(received);
      });
  if (!received) return received;
  if (!r) {
    return unavailable("cannot reach " + impl_->server + " (" + httplib::to_string(r.error()) +
                       "), or the transfer broke off; is the server running, and is --server right?");
  }
  r->body = std::move(error_body);
  auto finished = impl_->finish(r);
  if (!finished) return finished.error();
  return ok();
}

}  // namespace ota::http
