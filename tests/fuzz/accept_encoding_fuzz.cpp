// Accept-Encoding on asset requests (choose_coding in http/negotiation.cpp): codings with
// q-values, "*", "identity;q=0". Input: the stored variants on the first line ("gzip br", "br", ""),
// the header after it. Properties:
//   - never a coding whose variant does not exist;
//   - a blank header means identity;
//   - identity stays acceptable unless the header names identity or "*" (so 406 needs one of them);
//   - coding names and "q" are case-insensitive, and the order of the elements does not matter.

#include <algorithm>
#include <string>
#include <vector>

#include "common/strings.h"
#include "fuzz_support.h"
#include "http/negotiation.h"

namespace {

using ota::http::choose_coding;
using ota::http::Coding;

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  const bool have_gzip = f[0].find("gzip") != std::string_view::npos;
  const bool have_br = f[0].find("br") != std::string_view::npos;
  const std::string header(f[1]);

  const auto coding = choose_coding(header, have_gzip, have_br);
  if (coding == Coding::kGzip) FUZZ_CHECK(have_gzip);
  if (coding == Coding::kBr) FUZZ_CHECK(have_br);
  if (ota::trim(header).empty()) FUZZ_CHECK(coding == Coding::kIdentity);
  const std::string lower = ota::to_lower(header);
  if (lower.find("identity") == std::string::npos && lower.find('*') == std::string::npos) {
    FUZZ_CHECK(coding.has_value());
  }
  // Every variant existing can only widen the choice.
  if (coding) FUZZ_CHECK(choose_coding(header, true, true).has_value());

  FUZZ_CHECK(choose_coding(lower, have_gzip, have_br) == coding);
  FUZZ_CHECK(choose_coding(to_upper(header), have_gzip, have_br) == coding);
  std::vector<std::string_view> elements = ota::split(header, ',');
  std::reverse(elements.begin(), elements.end());
  std::string reversed;
  for (size_t i = 0; i < elements.size(); ++i) reversed.append(i > 0 ? "," : "").append(elements[i]);
  FUZZ_CHECK(choose_coding(reversed, have_gzip, have_br) == coding);
  return 0;
}
