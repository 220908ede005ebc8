// Pure parsers for the HTTP request headers the asset and manifest routes negotiate on. No
// cpp-httplib types: these are fuzzed on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ota::http {

enum class Coding { kIdentity, kGzip, kBr };

// Picks the coding to send given the request's Accept-Encoding and which encoded variants exist.
// Honours q-values, "*", and "identity;q=0". Prefers br over gzip over identity among equally
// acceptable codings (smaller first); identity is acceptable unless excluded. nullopt when
// nothing acceptable exists (answer 406). An absent header (empty string) means identity.
std::optional<Coding> choose_coding(std::string_view accept_encoding, bool have_gzip, bool have_br);

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

enum class RangeKind {
  kNone,           // no Range header: send everything
  kSingle,         // exactly one satisfiable range: 206
  kUnsatisfiable,  // one well-formed range outside the representation: 416
  kIgnored,        // several ranges, malformed, or not "bytes=": send everything with 200
};

struct RangeRequest {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;
};

// RFC 9110 §14: "bytes=a-b", "bytes=a-", "bytes=-n" (suffix). At most one range is honoured
// (multi-range answers are an amplification vector); the header is at most 256 bytes.
RangeRequest parse_range(std::string_view header, uint64_t size);

// True if If-None-Match (a list, "*", or weak W/ validators) matches the strong `etag`
// (which includes its quotes).
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), plus the obsolete RFC 850 and asctime forms.
// Milliseconds since the epoch, or nullopt if malformed.
std::optional<int64_t> parse_http_date(std::string_view value);

}  // namespace ota::http
