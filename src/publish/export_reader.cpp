#include "publish/export_reader.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/strings.h"
#include "publish/content_types.h"

namespace ota::publish {
namespace {

constexpr size_t kMaxMetadataBytes = 1u << 20;
constexpr size_t kMaxAssets = 10000;
constexpr size_t kMaxDepth = 32;

Error bad(std::string message) { return invalid_argument("metadata.json: " + std::move(message)); }

Status check_path(std::string_view where, std::string_view path) {
  if (path.empty() || path.size() > 512) return bad(std::string(where) + " must be a path of 1-512 bytes");
  if (path.front() == '/') return bad(std::string(where) + " is absolute (\"" + std::string(path) + "\")");
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) {
      return bad(std::string(where) + " contains a backslash or a control character");
    }
  }
  auto segments = split(path, '/');
  if (segments.size() > 32) return bad(std::string(where) + " is nested more than 32 levels");
  for (auto seg : segments) {
    if (seg.empty() || seg == "." || seg == "..") {
      return bad(std::string(where) + " (\"" + std::string(path) + "\") has an empty, \".\" or \"..\" segment");
    }
  }
  return ok();
}

size_t depth_of(const nlohmann::json& j, size_t depth = 0) {
  if (depth > kMaxDepth) return depth;
  size_t deepest = depth;
  if (j.is_structured()) {
    for (const auto& v : j) deepest = std::max(deepest, depth_of(v, depth + 1));
  }
  return deepest;
}

std::string extension_of(std::string_view path) {
  size_t slash = path.rfind('/');
  size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) return "";
  return std::string(path.substr(dot + 1));
}

}  // namespace

Result<std::vector<ExportPlatformMetadata>> parse_export_metadata(std::string_view text) {
  if (text.size() > kMaxMetadataBytes) return bad("larger than 1 MiB");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  if (depth_of(j) > kMaxDepth) return bad("nested deeper than 32 levels");
  if (!j.is_object()) return bad("must be a JSON object");
  if (!j.contains("version") || j["version"] != 0) {
    return bad("\"version\" must be 0 (this export was made by an `expo export` this server does not know)");
  }
  if (!j.contains("bundler") || j["bundler"] != "metro") return bad("\"bundler\" must be \"metro\"");
  if (!j.contains("fileMetadata") || !j["fileMetadata"].is_object()) return bad("\"fileMetadata\" must be an object");

  std::vector<ExportPlatformMetadata> out;
  // Fixed order (ios, android) so the result does not depend on the file's key order.
  for (model::Platform p : {model::Platform::kIos, model::Platform::kAndroid}) {
    std::string name(model::platform_name(p));
    const auto& fm = j["fileMetadata"];
    if (!fm.contains(name)) continue;
    const auto& entry = fm[name];
    std::string where = "fileMetadata." + name;
    if (!entry.is_object()) return bad(where + " must be an object");
    if (!entry.contains("bundle") || !entry["bundle"].is_string()) return bad(where + ".bundle must be a string");
    ExportPlatformMetadata m{p, {entry["bundle"].get<std::string>(), ""}, {}};
    OTA_TRY(check_path(where + ".bundle", m.bundle.path));
    m.bundle.ext = extension_of(m.bundle.path);
    if (!valid_extension(m.bundle.ext)) m.bundle.ext = "bundle";
    if (entry.contains("assets")) {
      const auto& assets = entry["assets"];
      if (!assets.is_array()) return bad(where + ".assets must be an array");
      if (assets.size() > kMaxAssets) return bad(where + ".assets has more than 10000 entries");
      for (size_t i = 0; i < assets.size(); ++i) {
        std::string at = where + ".assets[" + std::to_string(i) + "]";
        const auto& a = assets[i];
        if (!a.is_object() || !a.contains("path") || !a["path"].is_string() || !a.contains("ext") ||
            !a["ext"].is_string()) {
          return bad(at + " must be {\"path\": string, \"ext\": string}");
        }
        ExportEntry e{a["path"].get<std::string>(), a["ext"].get<std::string>()};
        OTA_TRY(check_path(at + ".path", e.path));
        if (!valid_extension(e.ext)) return bad(at + ".ext must be 1-16 letters or digits, without a dot");
        if (e.path == m.bundle.path) return bad(at + " names the bundle itself");
        m.assets.push_back(std::move(e));
      }
    }
    out.push_back(std::move(m));
  }
  for (const auto& [key, value] : j["fileMetadata"].items()) {
    if (key != "ios" && key != "android" && key != "web") {
      return bad("unknown platform \"" + key.substr(0, 40) + "\" in fileMetadata (expected ios, android)");
    }
  }
  if (out.empty()) return bad("fileMetadata has neither ios nor android");
  return out;
}

const ExportFile* ExportPlan::file(std::string_view path) const {
  for (const auto& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Result<ExportPlan> read_export(const std::filesystem::path& dist, std::optional<model::Platform> only) {
  auto meta_path = dist / "metadata.json";
  OTA_ASSIGN_OR_RETURN(std::string text,
                       read_file(meta_path, kMaxMetadataBytes).context("is " + dist.string() + " an `expo export` output?"));
  OTA_ASSIGN_OR_RETURN(auto platforms, parse_export_metadata(text));
  ExportPlan plan;
  for (auto& p : platforms) {
    if (!only || p.platform == *only) plan.platforms.push_back(std::move(p));
  }
  if (plan.platforms.empty()) {
    return invalid_argument("the export has no " + std::string(model::platform_name(*only)) +
                            " bundle; run `expo export --platform " + std::string(model::platform_name(*only)) + "`");
  }
  auto add_file = [&](const std::string& rel) -> Status {
    if (plan.file(rel) != nullptr) return ok();
    auto full = dist / rel;
    struct stat st {};
    if (::lstat(full.c_str(), &st) != 0) return invalid_argument("metadata.json names " + rel + ", which is missing");
    if (!S_ISREG(st.st_mode)) return invalid_argument(rel + " is not a regular file (symlinks are not followed)");
    OTA_ASSIGN_OR_RETURN(std::string bytes, read_file(full, size_t{1} << 31));
    plan.files.push_back({rel, crypto::sha256(bytes), bytes.size()});
    return ok();
  };
  for (const auto& p : plan.platforms) {
    OTA_TRY(add_file(p.bundle.path));
    for (const auto& a : p.assets) OTA_TRY(add_file(a.path));
  }
  return plan;
}

}  // namespace ota::publish
