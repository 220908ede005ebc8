// Operations end to end: backups of a serving server taken during publishes and restored into a
// new directory (fsck clean, manifests byte-identical), restores that refuse damaged backups or
// occupied directories, data directories from older versions migrating on start, and the systemd
// readiness notification. The real binary on 127.0.0.1, driven through its CLI.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include "expo_test_support.h"
#include "server_process.h"
#include "storage/metadata/database.h"
#include "storage/metadata/migrations.h"
#include "support/temp_dir.h"
#include "test_util.h"

namespace ota::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kPublicUrl[] = "http://ota.test";  // the same in manifests of source and restore

fs::path fixture() { return OTA_FIXTURE_DIR; }

// A server with an admin token, app "ops" and its signing key.
struct OpsServer {
  fs::path data;
  std::optional<ServerProcess> proc;
  std::string token;
  fs::path cert;

  bool start(const fs::path& dir, bool create_app) {
    data = dir;
    proc = ServerProcess::start(data, {"--public-url", kPublicUrl, "--gc-interval-s", "0"});
    if (!proc) return false;
    if (!create_app) return true;
    auto t = run_otaserver({"token", "create", "--data", data.string(), "--name", "ops", "--scope", "admin"});
    EXPECT_EQ(t.exit_code, 0) << t.err;
    token = trim(t.out);
    EXPECT_EQ(cli({"app", "create", "ops"}).exit_code, 0);
    cert = data.parent_path() / (data.filename().string() + "-cert.pem");
    auto k = cli({"keys", "generate", "--app", "ops", "--keyid", "main", "--out", cert.string()});
    EXPECT_EQ(k.exit_code, 0) << k.err;
    return k.exit_code == 0;
  }
  CommandResult cli(std::vector<std::string> args) const {
    args.push_back("--server");
    args.push_back(proc->base_url());
    return run_otaserver(args, {{"OTA_TOKEN", token}}, 120s);
  }
  CommandResult publish(const std::string& update, const std::string& message) const {
    return cli({"publish", "--dist", (fixture() / update).string(), "--app", "ops", "--runtime-version", "1.0.0",
                "--expo-config", (fixture() / "expoConfig.json").string(), "--message", message});
  }
  // The signed manifest a device on `platform` is served now: (id, manifest part bytes, signature).
  std::tuple<std::string, std::string, std::string> manifest(const std::string& platform) const {
    auto headers = expo::with(expo::device(platform), "expo-expect-signature", std::string(expo::kExpectSignature));
    auto a = expo::parse_answer(expo::http_request(proc->port(), "GET", "/apps/ops/manifest", headers));
    const expo::Part* part = a.part("manifest");
    if (a.status() != 200 || part == nullptr) return {"status " + std::to_string(a.status()), "", ""};
    json m = json::parse(part->body, nullptr, false);
    return {m.value("id", ""), part->body, part->header("expo-signature").value_or("")};
  }
};

TEST(Backup, TakenDuringTwentyPublishesRestoresConsistentWithByteIdenticalManifests) {
  TempDir tmp;
  OpsServer source;
  ASSERT_TRUE(source.start(tmp / "source", true));
  ASSERT_EQ(source.publish("update1", "first").exit_code, 0);

  // Twenty publishes on a second thread; after each, what a device is served is recorded.
  std::mutex served_mutex;
  std::map<std::string, std::pair<std::string, std::string>> served;  // update id -> (manifest, signature)
  std::atomic<int> published{0};
  std::atomic<bool> publish_failed{false};
  auto record = [&] {
    for (const char* platform : {"ios", "android"}) {
      auto [id, bytes, signature] = source.manifest(platform);
      std::lock_guard lock(served_mutex);
      served[id] = {bytes, signature};
    }
  };
  record();
  std::thread publisher([&] {
    for (int i = 0; i < 20; ++i) {
      auto r = source.publish(i % 2 ? "update1" : "update2", "publish " + std::to_string(i));
      if (r.exit_code != 0) publish_failed = true;
      record();
      ++published;
    }
  });
  while (published < 5 && !publish_failed) std::this_thread::sleep_for(10ms);
  auto t0 = std::chrono::steady_clock::now();
  auto backup = source.cli({"backup", "--to", (tmp / "backup").string()});
  double backup_ms = ms_since(t0);
  int published_when_done = published;
  publisher.join();
  ASSERT_FALSE(publish_failed);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  std::printf("backup during publishes %d..%d of 20: %.0f ms: %s", 5, published_when_done, backup_ms, backup.out.c_str());
  EXPECT_TRUE(fs::is_regular_file(tmp / "backup" / "BACKUP"));
  EXPECT_FALSE(fs::exists(tmp / ("backup.partial-" + std::to_string(::getpid()))));

  auto restore = run_otaserver({"restore", "--from", (tmp / "backup").string(), "--data", (tmp / "restored").string()});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_NE(restore.out.find("consistent"), std::string::npos) << restore.out;
  std::printf("%s", restore.out.c_str());
  auto fsck = run_otaserver({"fsck", "--data", (tmp / "restored").string(), "--deep"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  std::printf("fsck --deep of the restore: %s", fsck.out.c_str());

  // The restore serves exactly what the source served at some moment during the publishes:
  // the same update, the same manifest bytes, the same signature.
  OpsServer restored;
  ASSERT_TRUE(restored.start(tmp / "restored", false));
  for (const char* platform : {"ios", "android"}) {
    auto [id, bytes, signature] = restored.manifest(platform);
    std::lock_guard lock(served_mutex);
    ASSERT_TRUE(served.contains(id)) << platform << ": the restore serves " << id << ", never served by the source";
    EXPECT_EQ(bytes, served[id].first) << platform;
    EXPECT_EQ(signature, served[id].second) << platform;
    EXPECT_FALSE(signature.empty());
  }
  // Every group in the restore is complete (both platforms) and was acknowledged by the source.
  auto listed = expo::http_request(restored.proc->port(), "GET", "/api/v1/apps/ops/updates?limit=100",
                                   {{"Authorization", "Bearer " + source.token}});
  ASSERT_EQ(listed.status, 200) << listed.body;
  json updates = json::parse(listed.body)["updates"];
  std::map<std::string, int> per_group;
  for (const auto& u : updates) ++per_group[u["group_id"].get<std::string>()];
  for (const auto& [group, n] : per_group) EXPECT_EQ(n, 2) << "group " << group << " is partial";
  EXPECT_GE(per_group.size(), 6u);  // the first publish and at least five of the loop
}

TEST(Backup, AQuiescentBackupRestoresOnAnotherPathServingIdenticalBytes) {
  TempDir tmp;
  OpsServer source;
  ASSERT_TRUE(source.start(tmp / "a" / "data", true));
  ASSERT_EQ(source.publish("update1", "one").exit_code, 0);
  ASSERT_EQ(source.publish("update2", "two").exit_code, 0);
  ASSERT_EQ(source.cli({"backup", "--to", (tmp / "b").string()}).exit_code, 0);
  // Elsewhere, with the source gone: nothing in the data is an absolute path.
  auto before_ios = source.manifest("ios");
  auto before_android = source.manifest("android");
  ASSERT_TRUE(source.proc->stop(SIGTERM));
  fs::rename(tmp / "b", tmp / "moved-backup");
  fs::remove_all(tmp / "a");
  ASSERT_EQ(run_otaserver({"restore", "--from", (tmp / "moved-backup").string(), "--data", (tmp / "c" / "d").string()})
                .exit_code,
            0);
  OpsServer restored;
  ASSERT_TRUE(restored.start(tmp / "c" / "d", false));
  EXPECT_EQ(restored.manifest("ios"), before_ios);
  EXPECT_EQ(restored.manifest("android"), before_android);
  // The assets are there too, byte for byte.
  json m = json::parse(std::get<1>(before_ios));
  std::string launch = expo::url_path(m["launchAsset"]["url"].get<std::string>());
  auto asset = expo::http_request(restored.proc->port(), "GET", launch);
  ASSERT_EQ(asset.status, 200);
  EXPECT_EQ(expo::sha256_base64url(asset.body), m["launchAsset"]["hash"]);
}

TEST(Backup, OfflineBackupOfAStoppedDataDirAndRefusalWhileServing) {
  TempDir tmp;
  OpsServer source;
  ASSERT_TRUE(source.start(tmp / "data", true));
  ASSERT_EQ(source.publish("update1", "one").exit_code, 0);
  auto busy = run_otaserver({"backup", "--data", (tmp / "data").string(), "--to", (tmp / "b1").string()});
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_NE(busy.err.find("back up through the running server"), std::string::npos) << busy.err;
  EXPECT_FALSE(fs::exists(tmp / "b1"));
  auto expected = source.manifest("ios");
  ASSERT_TRUE(source.proc->stop(SIGTERM));
  auto offline = run_otaserver({"backup", "--data", (tmp / "data").string(), "--to", (tmp / "b2").string()});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  ASSERT_EQ(run_otaserver({"restore", "--from", (tmp / "b2").string(), "--data", (tmp / "r").string()}).exit_code, 0);
  OpsServer restored;
  ASSERT_TRUE(restored.start(tmp / "r", false));
  EXPECT_EQ(restored.manifest("ios"), expected);
}

TEST(Restore, RefusesDamagedBackupsAndOccupiedDirectoriesAndChangesNothing) {
  TempDir tmp;
  OpsServer source;
  ASSERT_TRUE(source.start(tmp / "data", true));
  ASSERT_EQ(source.publish("update1", "one").exit_code, 0);
  ASSERT_EQ(source.cli({"backup", "--to", (tmp / "b").string()}).exit_code, 0);
  auto again = source.cli({"backup", "--to", (tmp / "b").string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("exists already"), std::string::npos) << again.err;

  // An occupied target is refused and left alone.
  fs::create_directories(tmp / "occupied");
  std::ofstream(tmp / "occupied" / "keep.txt") << "mine";
  auto occupied = run_otaserver({"restore", "--from", (tmp / "b").string(), "--data", (tmp / "occupied").string()});
  EXPECT_NE(occupied.exit_code, 0);
  EXPECT_NE(occupied.err.find("not empty"), std::string::npos) << occupied.err;
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp / "occupied"), fs::directory_iterator()), 1);

  // One flipped byte in the blob store: refused, naming the file; no data directory appears.
  fs::path sst;
  for (const auto& e : fs::directory_iterator(tmp / "b" / "blobs")) {
    if (e.path().extension() == ".sst") sst = e.path();
  }
  ASSERT_FALSE(sst.empty());
  {
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char c = 0;
    f.seekg(100);
    f.get(c);
    f.seekp(100);
    f.put(static_cast<char>(c ^ 0x5a));
  }
  auto damaged = run_otaserver({"restore", "--from", (tmp / "b").string(), "--data", (tmp / "r").string()});
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_NE(damaged.err.find(sst.filename().string()), std::string::npos) << damaged.err;
  EXPECT_FALSE(fs::exists(tmp / "r"));

  // Not a backup at all.
  auto none = run_otaserver({"restore", "--from", (tmp / "occupied").string(), "--data", (tmp / "r2").string()});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("not a complete otaserver backup"), std::string::npos) << none.err;
}

TEST(Upgrade, ADataDirFromAnOlderVersionMigratesOnStartAndKeepsItsData) {
  TempDir tmp;
  fs::path data = tmp / "data";
  OpsServer old_server;
  ASSERT_TRUE(old_server.start(data, true));
  ASSERT_EQ(old_server.publish("update1", "before the upgrade").exit_code, 0);
  auto expected = old_server.manifest("ios");
  ASSERT_TRUE(old_server.proc->stop(SIGTERM));
  // Make it look like a data directory of the version before the newest migration: drop what
  // that migration added and its record.
  int latest = metadata::latest_schema_version();
  ASSERT_GE(latest, 6);
  {
    auto db = metadata::Database::open({.path = data / "metadata.db"});
    ASSERT_TRUE(db);
    auto tx = (*db)->begin_write();
    ASSERT_TRUE(tx);
    for (const char* table : {"admin_sessions", "usage_daily", "runtime_checkins"}) {
      ASSERT_TRUE(tx->execute("DROP TABLE " + std::string(table)));
    }
    ASSERT_TRUE(tx->execute("DELETE FROM schema_migrations WHERE version = ?", static_cast<int64_t>(latest)));
    ASSERT_TRUE(tx->commit());
  }
  auto upgraded = ServerProcess::start(data, {"--public-url", kPublicUrl});
  ASSERT_TRUE(upgraded);
  EXPECT_NE(upgraded->stderr_text().find("schema_migrated from=" + std::to_string(latest - 1) + " to=" +
                                         std::to_string(latest)),
            std::string::npos)
      << upgraded->stderr_text();
  OpsServer view;
  view.proc = std::move(upgraded);
  EXPECT_EQ(view.manifest("ios"), expected);
}

TEST(Systemd, ReadyIsSentOnceServingAndStoppingOnSigterm) {
  TempDir tmp;
  fs::path socket_path = tmp / "notify.sock";
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  auto server = ServerProcess::start(tmp / "data", {}, {{"NOTIFY_SOCKET", socket_path.string()}});
  ASSERT_TRUE(server);
  char buffer[512] = {};
  ssize_t n = ::recv(fd, buffer, sizeof buffer - 1, 0);
  ASSERT_GT(n, 0);
  std::string ready(buffer, static_cast<size_t>(n));
  EXPECT_TRUE(ready.starts_with("READY=1\n")) << ready;
  EXPECT_NE(ready.find("STATUS=serving on http://127.0.0.1:" + std::to_string(server->port())), std::string::npos)
      << ready;
  ASSERT_TRUE(server->stop(SIGTERM));
  n = ::recv(fd, buffer, sizeof buffer - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(n)), "STOPPING=1");
  ::close(fd);
}

}  // namespace
}  // namespace ota::testing

namespace ota::testing {
namespace {

TEST(Fsck, ListsOrphansWithoutFailingAndFailsOnABlobThatDoesNotMatch) {
  TempDir tmp;
  OpsServer s;
  ASSERT_TRUE(s.start(tmp / "data", true));
  ASSERT_EQ(s.publish("update1", "one").exit_code, 0);
  // An upload whose publish never commits: an orphan.
  std::string bytes = "uploaded but never committed";
  std::string digest = expo::sha256_base64url(bytes);
  auto put = expo::http_request(s.proc->port(), "PUT", "/api/v1/blobs/" + digest,
                                {{"Authorization", "Bearer " + s.token}}, bytes);
  ASSERT_EQ(put.status, 201) << put.body;
  ASSERT_TRUE(s.proc->stop(SIGTERM));

  auto fsck = run_otaserver({"fsck", "--data", (tmp / "data").string(), "--orphans"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out;
  EXPECT_NE(fsck.out.find("orphan: " + digest), std::string::npos) << fsck.out;
  EXPECT_NE(fsck.out.find("1 orphans"), std::string::npos) << fsck.out;
  auto as_json = run_otaserver({"fsck", "--data", (tmp / "data").string(), "--json"});
  json report = json::parse(as_json.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << as_json.out;
  EXPECT_EQ(report["orphan_list"][0]["sha256"], digest);
  EXPECT_EQ(report["orphan_list"][0]["size"], bytes.size());

  // A referenced blob that no longer matches what the metadata recorded: fsck fails and says which.
  {
    auto db = metadata::Database::open({.path = tmp / "data" / "metadata.db"});
    ASSERT_TRUE(db);
    auto tx = (*db)->begin_write();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(tx->execute("UPDATE assets SET size = size + 1 WHERE sha256 = (SELECT min(sha256) FROM assets)"));
    ASSERT_TRUE(tx->commit());
  }
  auto broken = run_otaserver({"fsck", "--data", (tmp / "data").string()});
  EXPECT_EQ(broken.exit_code, 1) << broken.out;
  EXPECT_NE(broken.out.find("PROBLEM: blob"), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("INCONSISTENT"), std::string::npos) << broken.out;
}

}  // namespace
}  // namespace ota::testing

namespace ota::testing {
namespace {

TEST(DataDir, RootIsToldToRunAsTheOwnerOfAServiceUsersDataDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (what `sudo otaserver fsck` would be)";
  TempDir tmp;
  fs::path data = tmp / "data";
  {
    auto server = ServerProcess::start(data);
    ASSERT_TRUE(server);
    ASSERT_TRUE(server->stop(SIGTERM));
  }
  ASSERT_EQ(::chown(data.c_str(), 65534, 65534), 0);  // nobody
  auto r = run_otaserver({"fsck", "--data", data.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("run this as that user"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("runuser -u nobody -- otaserver"), std::string::npos) << r.err;
  ASSERT_EQ(::chown(data.c_str(), 0, 0), 0);
}

}  // namespace
}  // namespace ota::testing
