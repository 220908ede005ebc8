// Errors as values for every layer below http/ (see CONTRIBUTING.md, "Errors").
//
// An Error carries a small code that http/ maps to a status in exactly one place, a message
// written for the person who will read it (what went wrong and what to do), and context added on
// the way up ("publish update 1f2e…: blob store: disk full").
#pragma once

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace ota {

enum class ErrorCode {
  kInvalidArgument,  // the caller sent something malformed: 400
  kNotFound,         // 404
  kConflict,         // state does not allow it (already exists, changed meanwhile): 409
  kUnauthorized,     // missing or bad credentials: 401
  kForbidden,        // valid credentials without the right: 403
  kTooLarge,         // a size limit was exceeded: 413
  kUnsupported,      // a request media type or encoding we do not take: 415
  kNotAcceptable,    // we cannot produce anything the client accepts (Accept, protocol): 406
  kGone,             // existed, but no longer usable (a used or expired single-use link): 410
  kNoSpace,          // the disk is full: 507
  kUnavailable,      // try again later (shutting down, busy): 503
  kCorruption,       // stored data failed a check; never served: 500
  kInternal,         // a bug or an unexpected system error: 500
};

// Stable machine-readable name used in JSON error bodies ("invalid_argument").
const char* error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with what the caller was doing: "open metadata: " + message.
  Error& context(std::string_view what) & {
    message_.insert(0, std::string(what) + ": ");
    return *this;
  }
  Error context(std::string_view what) && { return std::move(context(what)); }

 private:
  ErrorCode code_;
  std::string message_;
};

inline Error invalid_argument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error not_found(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Error internal_error(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
inline Error corruption(std::string m) { return {ErrorCode::kCorruption, std::move(m)}; }
inline Error no_space(std::string m) { return {ErrorCode::kNoSpace, std::move(m)}; }
inline Error unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }

// Result<T> holds a T or an Error. Shaped like std::expected so it can be swapped for it later.
template <class T>
class [[nodiscard]] Result {
 public:
  using value_type = T;

  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  template <class U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, Result> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, T>)
  Result(U&& value) : v_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

  template <class U>
  T value_or(U&& fallback) const& { return has_value() ? value() : T(std::forward<U>(fallback)); }

  // Adds what the caller was doing to a failure; a success passes through unchanged.
  Result context(std::string_view what) && {
    if (!has_value()) std::get<1>(v_).context(what);
    return std::move(*this);
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { assert(ok_); }
  const Error& error() const& { assert(!ok_); return error_; }
  Error&& error() && { assert(!ok_); return std::move(error_); }

  Result context(std::string_view what) && {
    if (!ok_) error_.context(what);
    return std::move(*this);
  }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool ok_ = true;
};

using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace ota

#define OTA_CONCAT_INNER(a, b) a##b
#define OTA_CONCAT(a, b) OTA_CONCAT_INNER(a, b)

// Returns the error of a failed Result from the enclosing function.
#define OTA_TRY(expr)                                   \
  do {                                                  \
    auto&& ota_try_result_ = (expr);                    \
    if (!ota_try_result_) {                             \
      return std::move(ota_try_result_).error();        \
    }                                                   \
  } while (0)

// OTA_ASSIGN_OR_RETURN(auto x, make_x()); — declares or assigns lhs from a successful Result.
// Expands to several statements: always use it inside braces, never as the body of a bare `if`.
#define OTA_ASSIGN_OR_RETURN(lhs, expr) OTA_ASSIGN_OR_RETURN_IMPL(OTA_CONCAT(ota_r_, __LINE__), lhs, expr)
#define OTA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp) {                                     \
    return std::move(tmp).error();                \
  }                                               \
  lhs = std::move(tmp).value()
