#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/uuid.h"
#include "crypto/digest.h"
#include "model/rollout.h"
#include "protocol/expo/catalog.h"

namespace ota::expo {
namespace {

std::vector<std::string> client_ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(format_uuid_v4(crypto::sha256("client" + std::to_string(i)).view()));
  return ids;
}

int in_rollout(const std::string& salt, const std::vector<std::string>& ids, int percent) {
  int n = 0;
  for (const auto& id : ids) n += model::rollout_bucket(salt, id) < static_cast<uint32_t>(percent) * 100;
  return n;
}

TEST(Rollout, TenPercentOfAThousandDevicesIsAboutAHundred) {
  auto ids = client_ids(1000);
  int n = in_rollout("salt-1", ids, 10);
  EXPECT_GT(n, 60);
  EXPECT_LT(n, 140);
}

TEST(Rollout, RaisingThePercentageNeverDropsADevice) {
  auto ids = client_ids(1000);
  for (const auto& id : ids) {
    uint32_t b = model::rollout_bucket("salt-1", id);
    for (int p = 0; p <= 100; p += 5) {
      bool in = b < static_cast<uint32_t>(p) * 100;
      bool in_next = b < static_cast<uint32_t>(std::min(100, p + 5)) * 100;
      EXPECT_TRUE(!in || in_next) << id << " at " << p;
    }
  }
  EXPECT_EQ(in_rollout("salt-1", ids, 100), 1000);
  EXPECT_EQ(in_rollout("salt-1", ids, 0), 0);
}

TEST(Rollout, DifferentSaltsPickDifferentDevices) {
  auto ids = client_ids(1000);
  std::set<std::string> a, b;
  for (const auto& id : ids) {
    if (model::rollout_bucket("salt-1", id) < 1000) a.insert(id);
    if (model::rollout_bucket("salt-2", id) < 1000) b.insert(id);
  }
  int overlap = 0;
  for (const auto& id : a) overlap += b.contains(id);
  EXPECT_LT(overlap, static_cast<int>(a.size()) / 2);  // independent: ~10% of 10%
}

TEST(Rollout, BucketIsStable) {
  EXPECT_EQ(model::rollout_bucket("s", "5f7c3a52-0d8e-4f43-9d8a-1f0e9b6c2a11"),
            model::rollout_bucket("s", "5f7c3a52-0d8e-4f43-9d8a-1f0e9b6c2a11"));
}

std::shared_ptr<ServableUpdate> servable(std::string id, int percent, model::UpdateKind kind = model::UpdateKind::kUpdate) {
  auto s = std::make_shared<ServableUpdate>();
  s->update.id = std::move(id);
  s->update.rollout_percent = percent;
  s->update.rollout_salt = "salt-" + s->update.id;
  s->update.kind = kind;
  return s;
}

AppSnapshot app_with(std::vector<std::shared_ptr<ServableUpdate>> candidates) {
  AppSnapshot app;
  app.app.default_channel = "production";
  app.channels["production"] = ChannelRoute{7, 0, 0};
  Stream stream;
  for (auto& c : candidates) stream.candidates.push_back(c);
  app.streams[stream_key(7, "1.0.0", model::Platform::kIos)] = stream;
  return app;
}

ManifestRequest request(int protocol) {
  ManifestRequest r;
  r.protocol_version = protocol;
  r.platform = model::Platform::kIos;
  r.runtime_version = "1.0.0";
  return r;
}

TEST(Select, PartialRolloutFallsBackToThePreviousUpdateOutsideTheBucket) {
  auto app = app_with({servable("new", 10), servable("old", 100)});
  auto ids = client_ids(1000);
  int got_new = 0;
  for (const auto& id : ids) {
    auto r = request(1);
    r.client_id = id;
    auto s = select_update(app, r);
    ASSERT_EQ(s.kind, Selection::Kind::kManifest);
    got_new += s.update->update.id == "new";
  }
  EXPECT_EQ(got_new, in_rollout("salt-new", ids, 10));
  auto anonymous = select_update(app, request(1));  // no EAS-Client-ID: outside every partial rollout
  EXPECT_EQ(anonymous.update->update.id, "old");
}

TEST(Select, UpToDateDeviceGetsNoUpdateOnProtocol1AndTheManifestAgainOnProtocol0) {
  auto app = app_with({servable("u2", 100)});
  auto p1 = request(1);
  p1.current_update_id = "u2";
  EXPECT_EQ(select_update(app, p1).kind, Selection::Kind::kNoUpdate);
  auto p0 = request(0);
  p0.current_update_id = "u2";
  EXPECT_EQ(select_update(app, p0).kind, Selection::Kind::kManifest);
}

TEST(Select, RollbackMarkerGivesTheDirectiveUnlessTheDeviceRunsTheEmbeddedUpdate) {
  auto app = app_with({servable("marker", 100, model::UpdateKind::kRollback)});
  auto r = request(1);
  r.current_update_id = "u1";
  r.embedded_update_id = "emb";
  EXPECT_EQ(select_update(app, r).kind, Selection::Kind::kRollback);
  r.current_update_id = "emb";
  EXPECT_EQ(select_update(app, r).kind, Selection::Kind::kNoUpdate);
  EXPECT_EQ(select_update(app, request(0)).kind, Selection::Kind::kNothingForProtocol0);
}

TEST(Select, NothingPublishedOrUnknownChannelOrRuntime) {
  auto app = app_with({servable("u1", 100)});
  auto other_runtime = request(1);
  other_runtime.runtime_version = "1.0.0 ";  // exact match only
  EXPECT_EQ(select_update(app, other_runtime).kind, Selection::Kind::kNoUpdate);
  auto other_channel = request(0);
  other_channel.channel = "staging";
  EXPECT_EQ(select_update(app, other_channel).kind, Selection::Kind::kNothingForProtocol0);
  auto android = request(1);
  android.platform = model::Platform::kAndroid;
  EXPECT_EQ(select_update(app, android).kind, Selection::Kind::kNoUpdate);
}

}  // namespace
}  // namespace ota::expo
