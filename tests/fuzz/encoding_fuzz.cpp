// Byte <-> text encodings read from outside: hex and base64url digests in URLs and JSON bodies,
// standard base64 signatures, decimal numbers (parse_uint: Content-Length, query parameters,
// config values), UUID checks. Properties: every decoder is strict, so a decoded value encodes
// back to exactly the input (hex: its lower-case form); encoders' output always decodes.

#include <string>

#include "common/encoding.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "crypto/digest.h"
#include "fuzz_support.h"

namespace {

using ota::fuzz::as_view;

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

// The inverse of percent_encode for its own output: every byte is unreserved or %XX (upper hex).
std::string percent_decode_strict(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      FUZZ_CHECK(is_unreserved(s[i]));
      out += s[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < s.size());
    auto digit = [](char c) {
      FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'));
      return c <= '9' ? c - '0' : c - 'A' + 10;
    };
    out += static_cast<char>(digit(s[i + 1]) << 4 | digit(s[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_view(data, size);

  if (auto raw = ota::hex_decode(in)) {
    FUZZ_CHECK(raw->size() * 2 == in.size());
    FUZZ_CHECK(ota::hex_encode(*raw) == ota::to_lower(in));
  }
  if (auto raw = ota::base64_decode(in)) FUZZ_CHECK(ota::base64_encode(*raw) == in);
  if (auto raw = ota::base64url_decode(in)) FUZZ_CHECK(ota::base64url_encode(*raw) == in);

  // Encoders over arbitrary bytes: their output is canonical, so it decodes to the same bytes.
  FUZZ_CHECK(ota::hex_decode(ota::hex_encode(in)) == std::string(in));
  FUZZ_CHECK(ota::base64_decode(ota::base64_encode(in)) == std::string(in));
  const std::string url = ota::base64url_encode(in);
  FUZZ_CHECK(url.find_first_of("+/=") == std::string::npos);
  FUZZ_CHECK(ota::base64url_decode(url) == std::string(in));
  FUZZ_CHECK(percent_decode_strict(ota::percent_encode(in)) == in);

  if (auto n = ota::parse_uint(in)) {
    // Digits only (no sign, space or prefix), and the value prints back to them without zeros.
    FUZZ_CHECK(!in.empty() && in.find_first_not_of("0123456789") == std::string_view::npos);
    std::string_view stripped = in.substr(std::min(in.find_first_not_of('0'), in.size() - 1));
    FUZZ_CHECK(std::to_string(*n) == stripped);
  }

  if (auto d = ota::crypto::Sha256::from_hex(in)) FUZZ_CHECK(d->hex() == ota::to_lower(in));
  if (auto d = ota::crypto::Sha256::from_base64url(in)) FUZZ_CHECK(d->base64url() == in);

  if (ota::is_canonical_uuid(in)) FUZZ_CHECK(ota::hex_decode(std::string(in.substr(0, 8))).has_value());
  FUZZ_CHECK(ota::is_canonical_uuid(ota::format_uuid_v4(in)));

  // The small string helpers every header parser builds on.
  const std::string_view trimmed = ota::trim(in);
  FUZZ_CHECK(ota::trim(trimmed) == trimmed);
  FUZZ_CHECK(ota::iequals(ota::to_lower(in), in));
  if (!in.empty()) {
    const auto parts = ota::split(in, in[0]);
    std::string joined(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) joined.append(1, in[0]).append(parts[i]);
    FUZZ_CHECK(parts.size() >= 2 && joined == in);
  }
  return 0;
}
