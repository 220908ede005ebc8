// If-None-Match on asset and patch requests (if_none_match_matches in http/negotiation.cpp): "*",
// lists of strong and weak (W/) entity tags, compared weakly. Input: the asset's ETag on the first
// line, the header after it. Properties:
//   - "*" matches; a match means the tag's opaque part occurs in the header;
//   - the tag itself, its weak form, and a list that contains it all match;
//   - the answer is deterministic.

#include <string>

#include "common/strings.h"
#include "fuzz_support.h"
#include "http/negotiation.h"

namespace {

using ota::http::if_none_match_matches;

// An entity tag as the server makes them: a quoted opaque string with no quote inside.
bool well_formed(std::string_view tag) {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag.size() >= 2 && tag.front() == '"' && tag.back() == '"' &&
         tag.substr(1, tag.size() - 2).find('"') == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  const std::string etag(f[0]);
  const std::string header(f[1]);

  const bool match = if_none_match_matches(header, etag);
  FUZZ_CHECK(if_none_match_matches(header, etag) == match);
  if (ota::trim(header) == "*") FUZZ_CHECK(match);
  if (match && ota::trim(header) != "*") {
    std::string_view opaque = etag;
    if (opaque.substr(0, 2) == "W/") opaque.remove_prefix(2);
    FUZZ_CHECK(!opaque.empty() && header.find(opaque) != std::string::npos);
  }
  if (well_formed(etag)) {
    std::string_view strong = etag;
    if (strong.substr(0, 2) == "W/") strong.remove_prefix(2);
    FUZZ_CHECK(if_none_match_matches(strong, etag));
    FUZZ_CHECK(if_none_match_matches("W/" + std::string(strong), etag));
    FUZZ_CHECK(if_none_match_matches("\"other\", " + std::string(strong) + " ,W/\"more\"", etag));
  }
  return 0;
}
