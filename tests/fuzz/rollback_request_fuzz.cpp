// The JSON body of POST /api/v1/apps/{app}/rollbacks (parse_rollback_request in
// publish/publisher.cpp). Properties:
//   - no exception escapes;
//   - an accepted request has a valid runtime version, bounded strings, and the platforms "ios",
//     "android" or both (for "all" or no platform);
//   - parse(print(request)) == request.

#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_support.h"
#include "publish/publisher.h"

namespace {

using nlohmann::json;
using ota::model::Platform;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = ota::publish::parse_rollback_request("app", ota::fuzz::as_view(data, size));
  if (!r) {
    FUZZ_CHECK(r.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  FUZZ_CHECK(ota::publish::validate_runtime_version(r->runtime_version));
  FUZZ_CHECK(r->message.size() <= 1024);
  FUZZ_CHECK(!r->branch || r->branch->size() <= 64);
  FUZZ_CHECK(!r->channel || r->channel->size() <= 64);
  const bool both = r->platforms == std::vector<Platform>{Platform::kIos, Platform::kAndroid};
  FUZZ_CHECK(both || r->platforms.size() == 1);

  json j = {{"runtime_version", r->runtime_version},
            {"message", r->message},
            {"platform", both ? "all" : std::string(ota::model::platform_name(r->platforms[0]))}};
  if (r->branch) j["branch"] = *r->branch;
  if (r->channel) j["channel"] = *r->channel;
  auto again = ota::publish::parse_rollback_request("app", j.dump());
  FUZZ_CHECK(again && again->runtime_version == r->runtime_version && again->message == r->message &&
             again->branch == r->branch && again->channel == r->channel && again->platforms == r->platforms);
  return 0;
}
