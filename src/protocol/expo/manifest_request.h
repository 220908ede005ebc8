// Reads and validates the headers of a manifest request (expo-updates-protocol.md §1.3-§1.4,
// checklist 1-15) into a ManifestRequest. Knows nothing of HTTP libraries: headers come in
// through the small HeaderSource interface.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "model/platform.h"

namespace ota::expo {

// Case-insensitive access to request headers.
class HeaderSource {
 public:
  virtual ~HeaderSource() = default;
  virtual size_t count(std::string_view name) const = 0;
  // The first value of `name`, or nullopt if absent.
  virtual std::optional<std::string_view> get(std::string_view name) const = 0;
};

enum class ResponseFormat {
  kMultipart,  // multipart/mixed (every client since SDK 44 asks for it first)
  kJson,       // a bare manifest (application/expo+json or application/json); cannot carry directives
};

struct ManifestRequest {
  int protocol_version = 0;  // 0 when the header is absent
  model::Platform platform = model::Platform::kIos;
  std::string runtime_version;                   // verbatim, never trimmed (checklist 24)
  std::optional<std::string> channel;            // expo-channel-name, verbatim
  std::optional<std::string> current_update_id;  // lower-cased
  std::optional<std::string> embedded_update_id; // lower-cased
  std::optional<std::string> client_id;          // EAS-Client-ID, lower-cased
  bool expects_signature = false;                // expo-expect-signature present (any content, checklist 15)
  std::optional<std::string> expected_keyid;     // its keyid member, when it parses and has one
  ResponseFormat format = ResponseFormat::kMultipart;
  std::vector<std::string> recent_failed_update_ids;  // lower-cased; empty if absent or unparsable
};

// Validates per §1.4. Errors: kInvalidArgument (400) for a missing/invalid expo-platform,
// a missing/empty expo-runtime-version, a repeated or non-integer expo-protocol-version;
// kNotAcceptable (406) for expo-protocol-version > 1 or an Accept that allows neither multipart
// nor JSON. Messages say which header and what is expected. Arbitrary content in
// Expo-Extra-Params, Expo-Recent-Failed-Update-IDs and Expo-Fatal-Error never causes an error.
// No Accept header means multipart.
Result<ManifestRequest> parse_manifest_request(const HeaderSource& headers);

// Which response formats an Accept header allows, honouring q-values (q=0 excludes):
// multipart/mixed, multipart/*, */* allow multipart; application/expo+json, application/json,
// application/*, */* allow JSON. Multipart whenever it is acceptable at all (even at a lower q),
// JSON only when multipart is not. nullopt if neither is acceptable.
std::optional<ResponseFormat> negotiate_format(std::string_view accept);

}  // namespace ota::expo
