// Internal to crypto/: OpenSSL error-queue hygiene shared by its source files.
#pragma once

#include <openssl/err.h>

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

}  // namespace ota::crypto
