// The app config `otaserver publish` reads (app.json, or expoConfig.json from `npx expo config
// --type public`) and its runtime-version policy (resolve_runtime_version in
// publish/runtime_version.cpp). The input is the file; like the CLI, an {"expo": {...}} wrapper is
// unwrapped. Properties, for both platforms:
//   - no exception escapes, whatever the JSON holds where strings are expected;
//   - a platform's own runtimeVersion string wins over the top-level one and is used verbatim;
//   - policy appVersion gives the (platform's, else the top-level) version, and a numeric
//     version is written as that number;
//   - sdkVersion gives "exposdk:" + sdkVersion, and "fingerprint" is always refused (only the
//     native build knows it).

#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_support.h"
#include "publish/runtime_version.h"

namespace {

using nlohmann::json;
using ota::model::Platform;

// The text a version field stands for: a string as is, an integer as its digits.
std::optional<std::string> text_of(const json& section, const char* key) {
  if (!section.is_object() || !section.contains(key)) return std::nullopt;
  const json& v = section.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  return std::nullopt;
}

void check(const json& config, Platform platform) {
  auto rv = ota::publish::resolve_runtime_version(config, platform);
  auto again = ota::publish::resolve_runtime_version(config, platform);
  FUZZ_CHECK(rv.has_value() == again.has_value());
  if (rv) FUZZ_CHECK(*rv == *again);
  if (!rv) FUZZ_CHECK(rv.error().code() == ota::ErrorCode::kInvalidArgument);
  if (!config.is_object()) return;

  const std::string name(ota::model::platform_name(platform));
  const json empty = json::object();
  const json& section = config.contains(name) && config.at(name).is_object() ? config.at(name) : empty;
  const json* setting = section.contains("runtimeVersion")  ? &section.at("runtimeVersion")
                        : config.contains("runtimeVersion") ? &config.at("runtimeVersion")
                                                            : nullptr;
  if (setting == nullptr) {
    FUZZ_CHECK(!rv);
    return;
  }
  if (setting->is_string()) {
    const std::string text = setting->get<std::string>();
    FUZZ_CHECK(text == "file:fingerprint" ? !rv : rv && *rv == text);
    return;
  }
  if (!setting->is_object() || !setting->contains("policy") || !setting->at("policy").is_string()) {
    FUZZ_CHECK(!rv);
    return;
  }
  const std::string policy = setting->at("policy").get<std::string>();
  if (policy == "appVersion") {
    const std::string version = text_of(section, "version").value_or(text_of(config, "version").value_or("1.0.0"));
    FUZZ_CHECK(rv && *rv == version);
  } else if (policy == "sdkVersion") {
    auto sdk = text_of(config, "sdkVersion");
    FUZZ_CHECK(sdk ? rv && *rv == "exposdk:" + *sdk : !rv);
  } else if (policy == "fingerprint") {
    FUZZ_CHECK(!rv);
  } else if (policy != "nativeVersion") {
    FUZZ_CHECK(!rv);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json j = json::parse(ota::fuzz::as_view(data, size), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;  // the CLI refuses it: "is not a JSON object"
  const json config = j.contains("expo") && j["expo"].is_object() ? j["expo"] : j;
  check(config, Platform::kIos);
  check(config, Platform::kAndroid);
  return 0;
}
