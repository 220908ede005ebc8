// The runtime version a build reports, computed from the app config the way expo-updates computes
// it at build time (expo-updates-protocol.md §6.5), so `otaserver publish` can fill it in.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "model/platform.h"

namespace ota::publish {

// `config` is the "expo" object of app.json, or a public config (`npx expo config --type public`).
// Platform-specific `ios.runtimeVersion` / `android.runtimeVersion` wins over the top-level one.
//   "1.2.3"                       -> "1.2.3"
//   {"policy": "appVersion"}      -> <platform>.version, else version, else "1.0.0"
//   {"policy": "nativeVersion"}   -> "<version>(<ios.buildNumber | android.versionCode, default 1>)"
//   {"policy": "sdkVersion"}      -> "exposdk:<sdkVersion>"
//   {"policy": "fingerprint"}     -> kInvalidArgument: only the native build knows it; pass
//                                    --runtime-version from `npx expo-updates runtimeversion:resolve`
Result<std::string> resolve_runtime_version(const nlohmann::json& config, model::Platform platform);

}  // namespace ota::publish
