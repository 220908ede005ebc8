// Patch metadata: the JSON body of POST /api/v1/apps/{app}/patches (parse_patch_request in
// publish/patches.cpp) that decides which devices get a native patch. Properties:
//   - no exception escapes;
//   - an accepted request's version range is canonical (parses to the same text), its digest,
//     build, policy (0-2), rollout (0-100), preview device ids (at most 1,000, each 1-128 visible
//     bytes) and message (at most 1,024 bytes) are within bounds;
//   - parse(print(request)) == request.

#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_support.h"
#include "model/version_range.h"
#include "publish/patches.h"

namespace {

using nlohmann::json;

bool visible(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = ota::publish::parse_patch_request("app", ota::fuzz::as_view(data, size));
  if (!r) {
    FUZZ_CHECK(r.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  auto range = ota::model::VersionRange::parse(r->version_range);
  FUZZ_CHECK(range && range->text() == r->version_range);
  FUZZ_CHECK(!r->build || (!r->build->empty() && r->build->size() <= 64 && visible(*r->build)));
  FUZZ_CHECK(r->policy >= 0 && r->policy <= 2);
  FUZZ_CHECK(r->rollout_percent >= 0 && r->rollout_percent <= 100);
  FUZZ_CHECK(r->preview_devices.size() <= 1000);
  for (const auto& d : r->preview_devices) FUZZ_CHECK(!d.empty() && d.size() <= 128 && visible(d));
  FUZZ_CHECK(r->message.size() <= 1024);

  json j = {{"platform", ota::model::platform_name(r->platform)},
            {"range", r->version_range},
            {"sha256", r->sha256.base64url()},
            {"policy", r->policy},
            {"rollout_percent", r->rollout_percent},
            {"preview_devices", r->preview_devices},
            {"message", r->message}};
  if (r->build) j["build"] = *r->build;
  if (r->signature) j["signature"] = *r->signature;
  auto again = ota::publish::parse_patch_request("app", j.dump());
  FUZZ_CHECK(again && again->platform == r->platform && again->version_range == r->version_range &&
             again->build == r->build && again->sha256 == r->sha256 && again->signature == r->signature &&
             again->policy == r->policy && again->rollout_percent == r->rollout_percent &&
             again->preview_devices == r->preview_devices && again->message == r->message);
  return 0;
}
