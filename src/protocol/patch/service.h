// Native hot-patch delivery (issue 5): which patch a device with (app, platform, version, build,
// device id) gets, answered from an immutable in-memory snapshot rebuilt after every change; the
// check endpoint's short-lived single-use download links; and check/download counters kept in
// memory and written to SQLite in batches (never a write per request).
//
// Threading: answer(), check() and download() run on many worker threads; reload() swaps the
// snapshot atomically.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "crypto/digest.h"
#include "model/platform.h"
#include "model/version_range.h"
#include "storage/storage.h"
#include "telemetry/usage.h"

namespace ota::patch {

struct ServablePatch {
  std::string id;
  model::Platform platform = model::Platform::kIos;
  model::VersionRange range;
  std::optional<std::string> build;
  int64_t seq = 0;
  crypto::Sha256 sha256;
  std::string md5;
  std::string signature;  // base64
  int policy = 0;
  int rollout_percent = 100;
  std::string rollout_salt;
  std::vector<std::string> preview_devices;  // sorted
  int64_t created_at_ms = 0;
  bool revoked = false;
  // The bytes sent (the file, or a signature line and the file) and their digests: ETag,
  // X-Patch-SHA256/-MD5 and the check answer all describe exactly what a client downloads.
  std::shared_ptr<const std::string> body;
  crypto::Sha256 body_sha256;
  std::string body_md5;
  std::string etag;           // "\"<body sha256 base64url>\""
  std::string last_modified;  // HTTP date of created_at
};

struct AppPatches {
  int64_t app_id = 0;
  std::string name;
  bool signature_line = false;  // the body's first line is "//<base64 signature>"
  bool revoked_answer_empty = false;  // a revoked patch answers an empty 200 instead of 404
  std::optional<std::string> path_template;
  std::vector<std::shared_ptr<const ServablePatch>> ios, android;  // newest (highest seq) first
};

struct PatchQuery {
  model::Platform platform = model::Platform::kIos;
  std::string version_text;
  std::string build;
  std::optional<std::string> device_id;
};

enum class Outcome { kNone, kPatch, kRevoked };

struct PatchAnswer {
  Outcome outcome = Outcome::kNone;
  const ServablePatch* patch = nullptr;
  bool empty_body = false;  // revoked with the "empty" answer
  std::shared_ptr<const void> hold;
};

class PatchService {
 public:
  PatchService(storage::Storage& storage, const Clock& clock, std::string server_secret, std::string public_url,
               int64_t link_ttl_ms = 5 * 60 * 1000, telemetry::UsageRecorder* usage = nullptr);

  Status reload();

  // kNotFound for an unknown app; kInvalidArgument for a version that is not a dotted number.
  Result<PatchAnswer> answer(std::string_view app, const PatchQuery& query);

  // Matches a configured per-app path template (e.g. "/rc/{short}/{build}.config").
  std::optional<std::pair<std::string, PatchQuery>> match_template(std::string_view path,
                                                                   std::optional<std::string> device_id) const;

  // POST /api/v1/patches/check: the JSON answer. `have_hash` is the client's current patch
  // (SHA-256 as base64url or hex, or MD5 hex).
  Result<std::string> check(std::string_view app, const PatchQuery& query, std::string_view have_hash);

  struct Download {
    const ServablePatch* patch = nullptr;
    std::shared_ptr<const void> hold;
  };
  // Consumes a single-use link: kForbidden for a forged token, kGone when it was used already or
  // has expired. Links live in memory: a restart invalidates unused ones (clients check again).
  Result<Download> download(std::string_view token);

  // Counts a check (a device asked and got an answer naming the patch) or a download (the bytes
  // went out) in memory, per patch and app version, and per day for adoption.
  void record(const std::string& patch_id, std::string_view version_text, bool download,
              const std::optional<std::string>& device_id) OTA_EXCLUDES(counters_mutex_);

  // Adds the in-memory counters to patch_counters in one transaction.
  Status flush_counters();


 private:
  struct Catalog {
    std::unordered_map<std::string, std::shared_ptr<const AppPatches>> apps;
  };

  storage::Storage& storage_;
  telemetry::UsageRecorder* usage_ = nullptr;
  const Clock& clock_;
  std::string link_key_;
  std::string public_url_;
  int64_t link_ttl_ms_;
  std::mutex reload_mutex_;
  std::atomic<std::shared_ptr<const Catalog>> catalog_;

  std::mutex links_mutex_;
  struct Link {
    std::string app;
    std::string patch_id;
    int64_t expires_ms = 0;
    bool used = false;
    std::string version;
    std::optional<std::string> device_id;
  };
  std::unordered_map<std::string, Link> links_ OTA_GUARDED_BY(links_mutex_);

  std::mutex counters_mutex_;
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> counters_ OTA_GUARDED_BY(counters_mutex_);
};

}  // namespace ota::patch
