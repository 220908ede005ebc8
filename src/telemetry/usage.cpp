#include "telemetry/usage.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/log.h"
#include "common/thread_annotations.h"
#include "telemetry/hll.h"

namespace ota::telemetry {
namespace {

constexpr size_t kShards = 8;
constexpr int64_t kMsPerDay = 86'400'000;
constexpr size_t kMaxCheckinsPerApp = 200;
constexpr size_t kMaxIdBytes = 64;
constexpr size_t kMaxRuntimeBytes = 255;

struct TransparentHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace

struct Counts {
  Subject subject = Subject::kUpdate;
  int64_t day = 0;
  std::string id;
  int64_t served = 0;
  int64_t downloads = 0;
  int64_t failure_reports = 0;
  std::unique_ptr<DeviceSketch> devices;
  std::unique_ptr<DeviceSketch> failed_devices;

  void merge_from(Counts& other) {
    served += other.served;
    downloads += other.downloads;
    failure_reports += other.failure_reports;
    merge_sketch(devices, other.devices);
    merge_sketch(failed_devices, other.failed_devices);
  }
  static void merge_sketch(std::unique_ptr<DeviceSketch>& into, std::unique_ptr<DeviceSketch>& from) {
    if (!from) return;
    if (!into) {
      into = std::move(from);
    } else {
      into->merge(*from);
    }
  }
};

namespace {

struct Checkin {
  int64_t app_id = 0;
  std::string platform, runtime_version, channel;
  int64_t checks = 0;
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

template <class V>
using ViewMap = std::unordered_map<std::string, V, TransparentHash, std::equal_to<>>;

struct Shard {
  std::mutex mutex;
  ViewMap<Counts> counts OTA_GUARDED_BY(mutex);
  ViewMap<Checkin> checkins OTA_GUARDED_BY(mutex);
};

// The map key of (subject, day, id), built in a per-thread buffer so a lookup allocates nothing.
std::string_view counts_key(Subject subject, int64_t day, std::string_view id) {
  thread_local std::string key;
  key.clear();
  key += subject == Subject::kUpdate ? 'u' : 'p';
  key += std::to_string(day);
  key += '|';
  key += id;
  return key;
}

std::string_view checkin_key(int64_t app_id, std::string_view platform, std::string_view runtime,
                             std::string_view channel) {
  thread_local std::string key;
  key.clear();
  key += std::to_string(app_id);
  for (std::string_view part : {platform, runtime, channel}) {
    key += '\x1f';
    key += part;
  }
  return key;
}

size_t shard_of(std::string_view key) { return TransparentHash{}(key) % kShards; }

std::string_view subject_name(Subject s) { return s == Subject::kUpdate ? "update" : "patch"; }

}  // namespace

struct UsageRecorder::State {
  size_t max_keys_per_shard = 0;
  std::array<Shard, kShards> shards;

  // Finds or adds the entry for `key`; null when the shard is full.
  Counts* counts(Shard& shard, std::string_view key, Subject subject, int64_t day, std::string_view id)
      OTA_REQUIRES(shard.mutex) {
    auto it = shard.counts.find(key);
    if (it != shard.counts.end()) return &it->second;
    if (shard.counts.size() >= max_keys_per_shard) return nullptr;
    Counts& c = shard.counts[std::string(key)];
    c.subject = subject;
    c.day = day;
    c.id = std::string(id);
    return &c;
  }
};

UsageRecorder::UsageRecorder(const Clock& clock, size_t max_keys) : clock_(clock), state_(std::make_unique<State>()) {
  state_->max_keys_per_shard = std::max<size_t>(1, max_keys / kShards);
}

UsageRecorder::~UsageRecorder() = default;

template <class F>
void UsageRecorder::change(Subject subject, std::string_view id, F&& apply) {
  if (id.empty() || id.size() > kMaxIdBytes) return;
  int64_t day = utc_day(clock_.now_ms());
  std::string_view key = counts_key(subject, day, id);
  Shard& shard = state_->shards[shard_of(key)];
  std::lock_guard lock(shard.mutex);
  Counts* c = state_->counts(shard, key, subject, day, id);
  if (c == nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  apply(*c);
}

namespace {

void add_device(std::unique_ptr<DeviceSketch>& sketch, std::optional<std::string_view> device) {
  if (!device || device->empty()) return;
  if (!sketch) sketch = std::make_unique<DeviceSketch>();
  sketch->add(*device);
}

}  // namespace

void UsageRecorder::served(Subject subject, std::string_view id, std::optional<std::string_view> device) {
  change(subject, id, [&](Counts& c) {
    ++c.served;
    add_device(c.devices, device);
  });
}

void UsageRecorder::running(std::string_view update_id, std::string_view device) {
  if (device.empty()) return;
  change(Subject::kUpdate, update_id, [&](Counts& c) { add_device(c.devices, device); });
}

void UsageRecorder::downloaded(Subject subject, std::string_view id, std::optional<std::string_view> device) {
  change(subject, id, [&](Counts& c) {
    ++c.downloads;
    add_device(c.devices, device);
  });
}

void UsageRecorder::failure_reported(std::string_view update_id, std::optional<std::string_view> device) {
  failure_reports_total_.fetch_add(1, std::memory_order_relaxed);
  change(Subject::kUpdate, update_id, [&](Counts& c) {
    ++c.failure_reports;
    add_device(c.failed_devices, device);
  });
}

void UsageRecorder::checked_in(int64_t app_id, std::string_view platform, std::string_view runtime_version,
                               std::string_view channel) {
  if (runtime_version.empty() || runtime_version.size() > kMaxRuntimeBytes || channel.size() > kMaxRuntimeBytes) return;
  int64_t now = clock_.now_ms();
  std::string_view key = checkin_key(app_id, platform, runtime_version, channel);
  Shard& shard = state_->shards[shard_of(key)];
  std::lock_guard lock(shard.mutex);
  auto it = shard.checkins.find(key);
  if (it == shard.checkins.end()) {
    if (shard.checkins.size() >= state_->max_keys_per_shard) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    it = shard.checkins
             .emplace(std::string(key), Checkin{app_id, std::string(platform), std::string(runtime_version),
                                                std::string(channel), 0, now, now})
             .first;
  }
  ++it->second.checks;
  it->second.last_seen_ms = now;
}

Status UsageRecorder::flush(metadata::Database& db) {
  std::vector<ViewMap<Counts>> counts(kShards);
  std::vector<ViewMap<Checkin>> checkins(kShards);
  bool any = false;
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = state_->shards[i];
    std::lock_guard lock(shard.mutex);
    counts[i].swap(shard.counts);
    checkins[i].swap(shard.checkins);
    any = any || !counts[i].empty() || !checkins[i].empty();
  }
  if (!any) return ok();

  auto write = [&]() -> Status {
    OTA_ASSIGN_OR_RETURN(auto tx, db.begin_write());
    std::vector<int64_t> apps;
    for (auto& shard : counts) {
      for (auto& [key, c] : shard) {
        // Merge the stored sketches with this batch's; rows only for updates/patches that exist.
        std::string devices, failed;
        if (c.devices || c.failed_devices) {
          OTA_ASSIGN_OR_RETURN(auto q, tx.query("SELECT devices, failed_devices FROM usage_daily "
                                                "WHERE subject = ? AND subject_id = ? AND day = ?",
                                                subject_name(c.subject), c.id, c.day));
          OTA_ASSIGN_OR_RETURN(bool found, q.next());
          DeviceSketch d, f;
          if (found) {
            if (!q.is_null(0)) d.merge_serialized(q.blob(0));
            if (!q.is_null(1)) f.merge_serialized(q.blob(1));
          }
          if (c.devices) d.merge(*c.devices);
          if (c.failed_devices) f.merge(*c.failed_devices);
          if (!d.empty()) devices = d.serialize();
          if (!f.empty()) failed = f.serialize();
        }
        std::optional<metadata::Blob> devices_blob, failed_blob;
        if (!devices.empty()) devices_blob = metadata::Blob{devices};
        if (!failed.empty()) failed_blob = metadata::Blob{failed};
        OTA_TRY(tx.execute(
            "INSERT INTO usage_daily (subject, subject_id, day, served, downloads, failure_reports, devices, "
            "failed_devices) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
            "WHERE (?1 = 'update' AND EXISTS (SELECT 1 FROM updates WHERE id = ?2)) "
            "   OR (?1 = 'patch' AND EXISTS (SELECT 1 FROM patches WHERE id = ?2)) "
            "ON CONFLICT (subject, subject_id, day) DO UPDATE SET served = served + excluded.served, "
            "downloads = downloads + excluded.downloads, failure_reports = failure_reports + excluded.failure_reports, "
            "devices = coalesce(excluded.devices, devices), failed_devices = coalesce(excluded.failed_devices, "
            "failed_devices)",
            subject_name(c.subject), c.id, c.day, c.served, c.downloads, c.failure_reports, devices_blob, failed_blob));
      }
    }
    for (auto& shard : checkins) {
      for (auto& [key, k] : shard) {
        OTA_TRY(tx.execute(
            "INSERT INTO runtime_checkins (app_id, platform, runtime_version, channel, checks, first_seen_ms, "
            "last_seen_ms) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM apps WHERE id = ?1) "
            "ON CONFLICT (app_id, platform, runtime_version, channel) DO UPDATE SET checks = checks + excluded.checks, "
            "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)",
            k.app_id, k.platform, k.runtime_version, k.channel, k.checks, k.first_seen_ms, k.last_seen_ms));
        apps.push_back(k.app_id);
      }
    }
    std::sort(apps.begin(), apps.end());
    apps.erase(std::unique(apps.begin(), apps.end()), apps.end());
    for (int64_t app : apps) {
      // Device-supplied runtime versions must not grow the table without bound.
      OTA_TRY(
          tx.execute("DELETE FROM runtime_checkins WHERE app_id = ?1 AND (platform, runtime_version, channel) "
                     "NOT IN (SELECT platform, runtime_version, channel FROM runtime_checkins WHERE app_id = ?1 "
                     "ORDER BY last_seen_ms DESC LIMIT ?2)",
                     app, static_cast<int64_t>(kMaxCheckinsPerApp)));
    }
    return tx.commit();
  };
  Status written = write();
  if (written) return ok();

  // Keep the batch for the next flush: a busy or full disk loses no counts.
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = state_->shards[i];
    std::lock_guard lock(shard.mutex);
    for (auto& [key, c] : counts[i]) {
      auto [it, inserted] = shard.counts.try_emplace(key);
      if (inserted) {
        it->second = std::move(c);
      } else {
        it->second.merge_from(c);
      }
    }
    for (auto& [key, k] : checkins[i]) {
      auto [it, inserted] = shard.checkins.try_emplace(key, k);
      if (!inserted) {
        it->second.checks += k.checks;
        it->second.last_seen_ms = std::max(it->second.last_seen_ms, k.last_seen_ms);
      }
    }
  }
  return written;
}

int64_t utc_day(int64_t unix_ms) { return unix_ms >= 0 ? unix_ms / kMsPerDay : (unix_ms - kMsPerDay + 1) / kMsPerDay; }

std::string day_text(int64_t day) {
  std::time_t t = static_cast<std::time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

}  // namespace ota::telemetry
