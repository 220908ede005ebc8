// kill -9 at random moments while publishing (docs/reliability.md §3.3, method 5, deterministic
// seed). After every kill: fsck --deep on the stopped data directory must be clean; after the
// restart every acknowledged publish is present in full, no group is partial, and every served
// asset hashes to its manifest hash. OTA_CRASH_PUBLISHES sets the count (default 20; the
// documented release run uses 100).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <random>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>

#include "crypto/digest.h"
#include "server_process.h"
#include "support/temp_dir.h"

extern char** environ;

namespace ota::testing {
namespace {

using nlohmann::json;

void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A small export with distinct bundles per publish, shared assets, and one unique asset.
void make_export(const std::filesystem::path& dir, int i, std::mt19937& rng) {
  std::string shared(2048, 's');
  write_file(dir / "assets/shared", shared);
  write_file(dir / "assets/unique", "unique asset of publish " + std::to_string(i) + random_bytes(rng, 1000));
  json meta = {{"version", 0}, {"bundler", "metro"}, {"fileMetadata", json::object()}};
  for (const char* p : {"ios", "android"}) {
    std::string bundle = "bundle " + std::string(p) + " " + std::to_string(i) + random_bytes(rng, 150000 + rng() % 300000);
    write_file(dir / "_expo/static/js" / p / "index.hbc", bundle);
    meta["fileMetadata"][p] = {{"bundle", std::string("_expo/static/js/") + p + "/index.hbc"},
                               {"assets", {{{"path", "assets/shared"}, {"ext", "png"}}, {{"path", "assets/unique"}, {"ext", "ttf"}}}}};
  }
  write_file(dir / "metadata.json", meta.dump());
}

struct Child {
  pid_t pid = -1;
  std::filesystem::path out;
};

Child spawn_publish(const std::vector<std::string>& args, const std::string& token, const std::filesystem::path& out) {
  std::vector<std::string> argv_s = {OTA_SERVER_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {"OTA_TOKEN=" + token, "PATH=/usr/bin:/bin"};
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Child c;
  c.out = out;
  posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

int wait_child(pid_t pid) {
  int status = 0;
  for (int i = 0; i < 3000; ++i) {  // at most 30 s
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return -1;
}

TEST(Crash, KillDuringPublishesLeavesNoPartialGroupAndLosesNoAcknowledgedPublish) {
  int publishes = 20;
  if (const char* n = std::getenv("OTA_CRASH_PUBLISHES")) publishes = std::max(1, std::atoi(n));
  TempDir tmp;
  auto data = tmp / "data";
  std::mt19937 rng(20261123);
  std::string token;
  std::set<std::string> acknowledged;  // group ids the CLI reported as published
  int kills_during_publish = 0, fsck_runs = 0, assets_verified = 0;

  for (int i = 0; i < publishes; ++i) {
    auto server = ServerProcess::start(data);
    ASSERT_TRUE(server) << "restart " << i;
    if (i == 0) {
      auto t = run_otaserver({"token", "create", "--data", data.string(), "--name", "crash", "--scope", "admin"});
      ASSERT_EQ(t.exit_code, 0) << t.err;
      token = t.out.substr(0, t.out.find('\n'));
      auto a = run_otaserver({"app", "create", "crash", "--server", server->base_url()}, {{"OTA_TOKEN", token}});
      ASSERT_EQ(a.exit_code, 0) << a.err;
    }
    auto dist = tmp / ("export-" + std::to_string(i));
    make_export(dist, i, rng);
    Child publish = spawn_publish({"publish", "--dist", dist.string(), "--app", "crash", "--runtime-version", "1.0.0",
                                   "--server", server->base_url(), "--json", "--message", "crash " + std::to_string(i)},
                                  token, tmp / "publish.out");
    // Kill anywhere from before the first upload to after the commit.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    bool finished_before_kill = ::waitpid(publish.pid, nullptr, WNOHANG) == publish.pid;
    server->kill9();
    int code = finished_before_kill ? 0 : wait_child(publish.pid);
    if (!finished_before_kill) ++kills_during_publish;
    std::ifstream in(publish.out);
    std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (code == 0 && !out.empty()) {
      auto j = json::parse(out, nullptr, false);
      if (!j.is_discarded() && j.contains("group_id")) acknowledged.insert(j["group_id"].get<std::string>());
    }

    auto fsck = run_otaserver({"fsck", "--data", data.string(), "--deep"});
    ++fsck_runs;
    ASSERT_EQ(fsck.exit_code, 0) << "after kill " << i << ":\n" << fsck.out << fsck.err;
  }

  auto server = ServerProcess::start(data);
  ASSERT_TRUE(server);
  auto client = server->client();
  auto list = client.Get("/api/v1/apps/crash/updates?limit=10000", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(list && list->status == 200);
  std::map<std::string, std::set<std::string>> platforms_by_group;
  const json listed = json::parse(list->body);  // named: a range over a temporary's member dangles
  for (const auto& u : listed["updates"]) {
    platforms_by_group[u["group_id"]].insert(u["platform"].get<std::string>());
  }
  for (const auto& [group, platforms] : platforms_by_group) {
    EXPECT_EQ(platforms.size(), 2u) << "partial group " << group;
  }
  for (const auto& g : acknowledged) EXPECT_TRUE(platforms_by_group.contains(g)) << "lost acknowledged publish " << g;

  for (const char* platform : {"ios", "android"}) {
    auto m = client.Get("/apps/crash/manifest", {{"expo-platform", platform}, {"expo-runtime-version", "1.0.0"},
                                                 {"accept", "application/json"}});
    ASSERT_TRUE(m && m->status == 200) << (m ? m->body : "no answer");
    auto manifest = json::parse(m->body);
    std::vector<json> assets = {manifest["launchAsset"]};
    for (const auto& a : manifest["assets"]) assets.push_back(a);
    for (const auto& a : assets) {
      std::string url = a["url"];
      auto r = client.Get(url.substr(url.find("/apps/")));
      ASSERT_TRUE(r && r->status == 200) << url;
      EXPECT_EQ(crypto::sha256(r->body).base64url(), a["hash"]);
      ++assets_verified;
    }
  }
  std::printf("crash: %d publishes, %d killed mid-publish, %zu acknowledged, %zu groups visible (all complete), "
              "%d fsck --deep runs clean, %d served assets verified\n",
              publishes, kills_during_publish, acknowledged.size(), platforms_by_group.size(), fsck_runs,
              assets_verified);
}

}  // namespace
}  // namespace ota::testing
