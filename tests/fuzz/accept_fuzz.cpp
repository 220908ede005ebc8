// The Accept header of manifest requests (negotiate_format in protocol/expo/manifest_request.cpp):
// media ranges with parameters, quoted strings and q-values, malformed ones skipped. Properties:
//   - the answer is deterministic and bounded in time (no quadratic walk over a long header);
//   - media types, subtypes and the q parameter name are case-insensitive, so upper- or
//     lower-casing the whole header never changes the answer;
//   - without quoted strings, the order of the ranges does not matter;
//   - a header that names neither multipart, application nor "*" accepts nothing (406), unless
//     it is blank (no preference: multipart).

#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.h"
#include "fuzz_support.h"
#include "protocol/expo/manifest_request.h"

namespace {

using ota::expo::negotiate_format;
using ota::fuzz::as_view;

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view accept = as_view(data, size);
  const auto format = negotiate_format(accept);
  FUZZ_CHECK(negotiate_format(accept) == format);
  FUZZ_CHECK(negotiate_format(ota::to_lower(accept)) == format);
  FUZZ_CHECK(negotiate_format(to_upper(accept)) == format);

  if (accept.find('"') == std::string_view::npos) {
    std::vector<std::string_view> ranges = ota::split(accept, ',');
    std::reverse(ranges.begin(), ranges.end());
    std::string reversed;
    for (size_t i = 0; i < ranges.size(); ++i) reversed.append(i > 0 ? "," : "").append(ranges[i]);
    FUZZ_CHECK(negotiate_format(reversed) == format);
  }

  const std::string lower = ota::to_lower(accept);
  if (lower.find("multipart") == std::string::npos && lower.find("application") == std::string::npos &&
      lower.find('*') == std::string::npos) {
    FUZZ_CHECK(ota::trim(accept).empty() ? format == ota::expo::ResponseFormat::kMultipart : !format.has_value());
  }
  return 0;
}
