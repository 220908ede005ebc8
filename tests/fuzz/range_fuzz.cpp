// Range on asset downloads (parse_range in http/negotiation.cpp, RFC 9110 §14): "bytes=a-b",
// "bytes=a-", "bytes=-n"; several ranges, malformed headers and other units are ignored (200).
// Input: the representation's size in decimal on the first line, the header after it.
// Properties:
//   - a single range always lies inside the representation: first <= last < size;
//   - no header means kNone, a header over 256 bytes is ignored;
//   - the unit is case-insensitive;
//   - the range we answer, written back as "bytes=first-last", parses to the same range.

#include <string>

#include "common/strings.h"
#include "fuzz_support.h"
#include "http/negotiation.h"

namespace {

using ota::http::parse_range;
using ota::http::RangeKind;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  // Any first line gives some size: a number, or (not a number) its length.
  const uint64_t length = ota::parse_uint(f[0]).value_or(f[0].size());
  const std::string header(f[1]);

  const auto r = parse_range(header, length);
  if (header.empty()) FUZZ_CHECK(r.kind == RangeKind::kNone);
  if (header.size() > 256) FUZZ_CHECK(r.kind == RangeKind::kIgnored);
  if (!header.empty()) FUZZ_CHECK(r.kind != RangeKind::kNone);
  if (r.kind == RangeKind::kSingle) {
    FUZZ_CHECK(r.range.first <= r.range.last && r.range.last < length);
    auto again = parse_range("bytes=" + std::to_string(r.range.first) + "-" + std::to_string(r.range.last), length);
    FUZZ_CHECK(again.kind == RangeKind::kSingle && again.range.first == r.range.first &&
               again.range.last == r.range.last);
  }

  std::string upper = header;
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  const auto u = parse_range(upper, length);
  FUZZ_CHECK(u.kind == r.kind && u.range.first == r.range.first && u.range.last == r.range.last);
  return 0;
}
