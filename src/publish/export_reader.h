// Reads an `expo export` output directory (expo-updates-protocol.md §6): parses metadata.json
// (its content, never its raw bytes: key order varies between runs), validates every path, and
// hashes every file. Used by `otaserver publish` before anything is uploaded.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "crypto/digest.h"
#include "model/platform.h"

namespace ota::publish {

struct ExportEntry {
  std::string path;  // relative to the export root, as metadata.json names it
  std::string ext;   // without the dot; for bundles, the file's own extension ("hbc", "js")
};

struct ExportPlatformMetadata {
  model::Platform platform;
  ExportEntry bundle;
  std::vector<ExportEntry> assets;
};

// Parses and validates metadata.json text: version 0, bundler "metro", known platforms ("web" is
// ignored), safe relative paths (no "..", no absolute paths, no backslashes or control
// characters, at most 512 bytes and 32 levels), extensions [A-Za-z0-9]{1,16}, at most 10,000
// assets per platform, at most 1 MiB of JSON nested at most 32 deep. kInvalidArgument with the
// JSON location otherwise.
Result<std::vector<ExportPlatformMetadata>> parse_export_metadata(std::string_view json);

struct ExportFile {
  std::string path;
  crypto::Sha256 sha256;
  uint64_t size = 0;
};

struct ExportPlan {
  std::vector<ExportPlatformMetadata> platforms;
  std::vector<ExportFile> files;  // every referenced file once, in first-reference order
  const ExportFile* file(std::string_view path) const;
};

// Reads metadata.json under `dist`, keeps `only` platforms if given (error if one is missing),
// and hashes every referenced file (each must be a regular file, not a symlink, inside `dist`).
Result<ExportPlan> read_export(const std::filesystem::path& dist, std::optional<model::Platform> only = std::nullopt);

}  // namespace ota::publish
