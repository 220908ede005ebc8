// A patch server for patch_link_fuzz and patch_template_fuzz: SQLite and RocksDB in a temporary
// directory, four apps (three with path templates), patches published through the real publish
// path (parse_patch_request + PatchPublisher), and a PatchService loaded from them. Rollout salts
// are fixed after publishing so a device's bucket is the same in every run.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/clock.h"
#include "fuzz_db.h"
#include "protocol/patch/service.h"
#include "publish/patches.h"
#include "storage/storage.h"

namespace ota::fuzz {

inline constexpr int64_t kLinkTtlMs = 60'000;
inline constexpr std::string_view kPublicUrl = "https://ota.example.com";

struct PatchServer {
  std::unique_ptr<storage::Storage> storage;
  ManualClock clock{kNowMs};
  std::unique_ptr<patch::PatchService> service;
  std::map<std::string, std::string> templates;  // app -> patch path template
};

// Never destroyed: RocksDB's own statics are gone by the time static destructors would close it.
inline PatchServer& patch_server() {
  static PatchServer* server = new PatchServer;
  return *server;
}

inline void start_patch_server() {
  PatchServer& s = patch_server();
  auto dir = make_temp_dir();
  auto blobs = blobs::BlobStore::open({.dir = dir / "blobs", .sync = false});
  must(blobs, "open blobs");
  s.storage = std::make_unique<storage::Storage>(open_db(dir), std::move(*blobs));
  s.templates = {{"app", "/rc/{short}/{build}.config"},
                 {"app2", "/p/{platform}/{version}-{build}"},
                 {"app3", "/v/{build}/{version}"}};
  {
    auto tx = s.storage->db().begin_write();
    must(tx, "begin");
    must(tx->execute("INSERT INTO apps (id, name, created_at_ms, patch_path_template, patch_signature_line) VALUES "
                     "(1, 'app', 0, ?, 1), (2, 'app2', 0, ?, 0), (3, 'app3', 0, ?, 0), (4, 'app4', 0, NULL, 0)",
                     s.templates["app"], s.templates["app2"], s.templates["app3"]),
         "insert apps");
    must(tx->execute("UPDATE apps SET patch_revoked_answer = 'empty' WHERE name = 'app3'"), "revoked answer");
    must(tx->commit(), "commit");
  }
  publish::PatchPublisher publisher(*s.storage, s.clock, std::string(kServerSecret));
  const auth::Actor actor{"fuzz", "local"};
  struct Spec {
    const char* app;
    const char* bytes;
    const char* json;  // the POST /api/v1/apps/{app}/patches body, "SHA" replaced by the blob's digest
    bool revoke;
  };
  const Spec specs[] = {
      {"app", "require('fix-1')", R"({"platform":"ios","range":">=3.4.0 <3.5.0","build":"18221","sha256":"SHA"})",
       false},
      {"app", "require('fix-2')", R"({"platform":"ios","version":"3.4.2","sha256":"SHA","rollout_percent":50})", false},
      {"app", "require('fix-3')",
       R"({"platform":"android","range":"3.4.x","sha256":"SHA","preview_devices":["dev-1","dev-2"]})", false},
      {"app2", "require('fix-4')", R"({"platform":"ios","range":"*","sha256":"SHA","policy":2})", true},
      {"app3", "require('fix-5')", R"({"platform":"android","range":">=1 <2","sha256":"SHA"})", false},
      {"app3", "require('fix-6')", R"({"platform":"android","range":">=1.5","sha256":"SHA"})", true},
  };
  for (const Spec& spec : specs) {
    auto digest = s.storage->blobs().put(spec.bytes);
    must(digest, "put patch bytes");
    std::string body = spec.json;
    body.replace(body.find("SHA"), 3, digest->base64url());
    auto request = publish::parse_patch_request(spec.app, body);
    must(request, "parse patch request");
    auto published = publisher.publish(*request, actor);
    must(published, "publish patch");
    if (spec.revoke) must(publisher.set_revoked(spec.app, published->id, true, actor), "revoke");
  }
  {
    auto tx = s.storage->db().begin_write();
    must(tx, "begin");
    must(tx->execute("UPDATE patches SET rollout_salt = 'fuzz-salt-' || seq"), "fix salts");
    must(tx->commit(), "commit");
  }
  s.service = std::make_unique<patch::PatchService>(*s.storage, s.clock, std::string(kServerSecret),
                                                    std::string(kPublicUrl), kLinkTtlMs);
  must(s.service->reload(), "load patches");
}

}  // namespace ota::fuzz
