// Manifest request headers (protocol/expo/manifest_request.cpp, expo-updates-protocol.md §1.4):
// expo-platform, expo-runtime-version, expo-protocol-version, expo-channel-name, the update and
// client ids, expo-expect-signature (SFV), Expo-Recent-Failed-Update-IDs (SFV list) and Accept,
// in any case, repeated or not. Input: a header block, one "Name: value" per line, as on the wire.
// Properties of an accepted request:
//   - the platform is exactly "ios" or "android" and the runtime version is the header verbatim,
//     non-empty;
//   - the protocol version is 0 or 1, and 0 only when the header is absent or says 0;
//   - ids are the header lower-cased, 1-128 bytes; failed-update ids likewise;
//   - the response format is what negotiate_format says for Accept (multipart without it);
// and a refused one is a 400 or 406 (kInvalidArgument, kNotAcceptable), never anything else.

#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "fuzz_support.h"
#include "protocol/expo/manifest_request.h"

namespace {

using ota::expo::HeaderSource;
using ota::expo::ManifestRequest;

// Request headers as cpp-httplib keeps them: a case-insensitive multimap in arrival order.
class Headers final : public HeaderSource {
 public:
  std::vector<std::pair<std::string, std::string>> list;

  size_t count(std::string_view name) const override {
    size_t n = 0;
    for (const auto& [k, v] : list) n += ota::iequals(k, name) ? 1 : 0;
    return n;
  }
  std::optional<std::string_view> get(std::string_view name) const override {
    for (const auto& [k, v] : list) {
      if (ota::iequals(k, name)) return std::string_view(v);
    }
    return std::nullopt;
  }
};

bool is_lower(std::string_view s) { return ota::to_lower(s) == s; }

bool same(const ManifestRequest& a, const ManifestRequest& b) {
  return a.protocol_version == b.protocol_version && a.platform == b.platform &&
         a.runtime_version == b.runtime_version && a.channel == b.channel &&
         a.current_update_id == b.current_update_id && a.embedded_update_id == b.embedded_update_id &&
         a.client_id == b.client_id && a.expects_signature == b.expects_signature &&
         a.expected_keyid == b.expected_keyid && a.format == b.format &&
         a.recent_failed_update_ids == b.recent_failed_update_ids;
}

void check_id(const std::optional<std::string>& id, const Headers& h, const char* name) {
  auto raw = h.get(name);
  if (!raw || raw->empty() || raw->size() > 128) {
    FUZZ_CHECK(!id);
  } else {
    FUZZ_CHECK(id && *id == ota::to_lower(*raw));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Headers h;
  for (std::string_view line : ota::split(ota::fuzz::as_view(data, size), '\n')) {
    // "Name: value": cpp-httplib drops the optional whitespace after the colon and a trailing CR.
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    h.list.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }

  auto r = ota::expo::parse_manifest_request(h);
  auto again = ota::expo::parse_manifest_request(h);
  FUZZ_CHECK(r.has_value() == again.has_value());
  if (!r) {
    FUZZ_CHECK(r.error().code() == ota::ErrorCode::kInvalidArgument ||
               r.error().code() == ota::ErrorCode::kNotAcceptable);
    FUZZ_CHECK(r.error().message() == again.error().message());
    return 0;
  }
  FUZZ_CHECK(same(*r, *again));

  auto platform = h.get("expo-platform");
  FUZZ_CHECK(platform && (*platform == "ios" || *platform == "android"));
  FUZZ_CHECK(ota::model::platform_name(r->platform) == *platform);
  auto runtime = h.get("expo-runtime-version");
  FUZZ_CHECK(runtime && !runtime->empty() && r->runtime_version == *runtime);

  FUZZ_CHECK(r->protocol_version == 0 || r->protocol_version == 1);
  const size_t protocol_headers = h.count("expo-protocol-version");
  FUZZ_CHECK(protocol_headers <= 1);
  if (protocol_headers == 0) FUZZ_CHECK(r->protocol_version == 0);
  if (r->protocol_version == 1) FUZZ_CHECK(ota::trim(*h.get("expo-protocol-version")) == "1");

  auto channel = h.get("expo-channel-name");
  FUZZ_CHECK(channel ? r->channel && *r->channel == *channel : !r->channel);
  check_id(r->current_update_id, h, "expo-current-update-id");
  check_id(r->embedded_update_id, h, "expo-embedded-update-id");
  check_id(r->client_id, h, "eas-client-id");

  FUZZ_CHECK(r->expects_signature == h.get("expo-expect-signature").has_value());
  if (r->expected_keyid) FUZZ_CHECK(r->expects_signature && !r->expected_keyid->empty());

  if (auto accept = h.get("accept")) {
    FUZZ_CHECK(ota::expo::negotiate_format(*accept) == r->format);
  } else {
    FUZZ_CHECK(r->format == ota::expo::ResponseFormat::kMultipart);
  }
  for (const auto& id : r->recent_failed_update_ids) FUZZ_CHECK(!id.empty() && id.size() <= 128 && is_lower(id));
  return 0;
}
