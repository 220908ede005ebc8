// expo::HeaderSource over a cpp-httplib request (case-insensitive, like the library's map).
#pragma once

#include <httplib.h>

#include "protocol/expo/manifest_request.h"

namespace ota::http {

class RequestHeaders final : public expo::HeaderSource {
 public:
  explicit RequestHeaders(const httplib::Request& req) : req_(req) {}
  size_t count(std::string_view name) const override { return req_.headers.count(std::string(name)); }
  std::optional<std::string_view> get(std::string_view name) const override {
    auto it = req_.headers.find(std::string(name));
    if (it == req_.headers.end()) return std::nullopt;
    return std::string_view(it->second);
  }

 private:
  const httplib::Request& req_;
};

}  // namespace ota::http
