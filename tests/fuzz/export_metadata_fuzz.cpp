// metadata.json of an `expo export` (parse_export_metadata in publish/export_reader.cpp): the file
// `otaserver publish` trusts to find the bundle and assets, so every path in it is opened below the
// export directory. Properties:
//   - no exception escapes (nlohmann/json is used with exceptions on);
//   - every accepted path is relative and safe: no "..", "." or empty part, no backslash or
//     control byte, 1-512 bytes, at most 32 parts; every extension is [A-Za-z0-9]{1,16};
//   - at most one entry per platform, ios before android, at most 10,000 assets, none of them the
//     bundle itself;
//   - parse(print(model)) == model: the model written back as metadata.json reads the same.

#include <nlohmann/json.hpp>

#include <string>

#include "common/strings.h"
#include "fuzz_support.h"
#include "publish/content_types.h"
#include "publish/export_reader.h"

namespace {

using ota::publish::ExportPlatformMetadata;

bool safe(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() == '/') return false;
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\') return false;
  }
  auto parts = ota::split(path, '/');
  if (parts.size() > 32) return false;
  for (std::string_view part : parts) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

bool same(const std::vector<ExportPlatformMetadata>& a, const std::vector<ExportPlatformMetadata>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].platform != b[i].platform || a[i].bundle.path != b[i].bundle.path || a[i].bundle.ext != b[i].bundle.ext ||
        a[i].assets.size() != b[i].assets.size()) {
      return false;
    }
    for (size_t k = 0; k < a[i].assets.size(); ++k) {
      if (a[i].assets[k].path != b[i].assets[k].path || a[i].assets[k].ext != b[i].assets[k].ext) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ota::publish::parse_export_metadata(ota::fuzz::as_view(data, size));
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code() == ota::ErrorCode::kInvalidArgument);
    return 0;
  }
  const auto& platforms = *parsed;
  FUZZ_CHECK(!platforms.empty() && platforms.size() <= 2);
  if (platforms.size() == 2) {
    FUZZ_CHECK(platforms[0].platform == ota::model::Platform::kIos &&
               platforms[1].platform == ota::model::Platform::kAndroid);
  }
  nlohmann::json file_metadata = nlohmann::json::object();
  for (const auto& p : platforms) {
    FUZZ_CHECK(safe(p.bundle.path) && ota::publish::valid_extension(p.bundle.ext));
    FUZZ_CHECK(p.assets.size() <= 10000);
    nlohmann::json assets = nlohmann::json::array();
    for (const auto& a : p.assets) {
      FUZZ_CHECK(safe(a.path) && ota::publish::valid_extension(a.ext) && a.path != p.bundle.path);
      assets.push_back({{"path", a.path}, {"ext", a.ext}});
    }
    file_metadata[std::string(ota::model::platform_name(p.platform))] = {{"bundle", p.bundle.path}, {"assets", assets}};
  }
  const nlohmann::json printed = {{"version", 0}, {"bundler", "metro"}, {"fileMetadata", file_metadata}};
  auto again = ota::publish::parse_export_metadata(printed.dump());
  FUZZ_CHECK(again && same(*again, platforms));
  return 0;
}
