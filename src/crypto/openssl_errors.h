// Internal to crypto/: OpenSSL error-queue hygiene shared by its source files.
#pragma once

#include <openssl/err.h>

#include <string>

namespace ota::crypto {

// OpenSSL reports failures through a thread-local queue. Every public function empties it on the
// way in and out (success included: decoders leave entries behind while probing formats), so
// nothing stale leaks into the next call on this thread or into someone's logs.
class ErrorQueueGuard {
 public:
  ErrorQueueGuard() { ERR_clear_error(); }
  ~ErrorQueueGuard() { ERR_clear_error(); }
  ErrorQueueGuard(const ErrorQueueGuard&) = delete;
  ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

// The first reason OpenSSL queued, for appending to a message; empties the queue.
inline std::string openssl_reason() {
  unsigned long first = 0;
  while (const unsigned long code = ERR_get_error()) {
    if (first == 0) first = code;
  }
  if (first == 0) return {};
  const char* reason = ERR_reason_error_string(first);
  return std::string(" (OpenSSL: ") + (reason != nullptr ? reason : "unknown reason") + ")";
}

}  // namespace ota::crypto
