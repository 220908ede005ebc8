#include "publish/runtime_version.h"

#include <nlohmann/json.hpp>

namespace ota::publish {
namespace {

using nlohmann::json;

std::optional<std::string> string_at(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return std::nullopt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return std::nullopt;
}

}  // namespace

Result<std::string> resolve_runtime_version(const json& config, model::Platform platform) {
  if (!config.is_object()) return invalid_argument("the app config must be a JSON object");
  std::string p(model::platform_name(platform));
  const json empty = json::object();
  const json& section = config.contains(p) && config[p].is_object() ? config[p] : empty;
  const json* rv = nullptr;
  if (section.contains("runtimeVersion")) {
    rv = &section["runtimeVersion"];
  } else if (config.contains("runtimeVersion")) {
    rv = &config["runtimeVersion"];
  }
  if (rv == nullptr) {
    return invalid_argument("the app config has no runtimeVersion; set one in app.json or pass --runtime-version");
  }
  if (rv->is_string()) {
    std::string v = rv->get<std::string>();
    if (v == "file:fingerprint") {
      return invalid_argument("runtimeVersion \"file:fingerprint\" is only known to the native build; pass "
                              "--runtime-version with `npx expo-updates runtimeversion:resolve --platform " + p + "`");
    }
    return v;
  }
  if (!rv->is_object() || !rv->contains("policy") || !(*rv)["policy"].is_string()) {
    return invalid_argument("runtimeVersion must be a string or {\"policy\": \"...\"}");
  }
  std::string policy = (*rv)["policy"];
  std::string version = string_at(section, "version").value_or(string_at(config, "version").value_or("1.0.0"));
  if (policy == "appVersion") return version;
  if (policy == "nativeVersion") {
    std::string build = string_at(section, platform == model::Platform::kIos ? "buildNumber" : "versionCode").value_or("1");
    return string_at(config, "version").value_or("1.0.0") + "(" + build + ")";
  }
  if (policy == "sdkVersion") {
    auto sdk = string_at(config, "sdkVersion");
    if (!sdk) return invalid_argument("runtimeVersion policy sdkVersion needs sdkVersion in the app config");
    return "exposdk:" + *sdk;
  }
  if (policy == "fingerprint") {
    return invalid_argument("runtimeVersion policy fingerprint is computed from the native project; pass "
                            "--runtime-version with the output of `npx expo-updates runtimeversion:resolve "
                            "--platform " + p + "`");
  }
  return invalid_argument("unknown runtimeVersion policy \"" + policy.substr(0, 40) +
                          "\" (known: appVersion, nativeVersion, sdkVersion, fingerprint)");
}

}  // namespace ota::publish
