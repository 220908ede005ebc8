// The servable state of every app, rendered once: for each (branch, runtime version, platform)
// stream, the updates a device can be given, each with its manifest bytes, signatures and
// complete response bodies (multipart per signing key, JSON, and compressed forms). A Catalog is
// immutable; the service swaps in a new one after every change, so a request sees one consistent
// snapshot (no mix-and-match) and does no rendering, hashing or signing of its own.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/signing_keys.h"
#include "auth/url_signer.h"
#include "common/result.h"
#include "model/update.h"
#include "protocol/expo/manifest_request.h"
#include "storage/metadata/database.h"

namespace ota::expo {

// One response body and its precompressed forms (empty when not smaller).
struct Body {
  std::string identity;
  std::string gzip;
  std::string br;
  std::string content_type;
};

// Multipart bodies by signing keyid; "" is the unsigned one.
using BodiesByKey = std::map<std::string, Body, std::less<>>;

struct ServableUpdate {
  model::Update update;
  std::string manifest_json;                                     // kUpdate: the signed bytes
  std::map<std::string, std::string, std::less<>> signatures;    // keyid -> expo-signature header value
  Body json;                                                     // kUpdate: JSON-format body
  BodiesByKey multipart;                                         // manifest (or rollback directive) part only
  std::string render_fingerprint;                                // what the rendering depended on

  // Apps with asset tokens add an extensions part whose tokens expire; those bodies are built
  // once per expiry bucket (an hour), not per request.
  struct Tokenized {
    int64_t expires_s = 0;
    BodiesByKey multipart;
  };
  mutable std::mutex tokenized_mutex;
  mutable std::shared_ptr<const Tokenized> tokenized;
};

struct Stream {
  // Newest first, down to and including the first update every device may take (100% rollout)
  // or a rollback marker: everything selection can ever pick for this stream.
  std::vector<std::shared_ptr<const ServableUpdate>> candidates;
};

// Where a channel sends devices: one branch, or a share of devices to a second branch.
struct ChannelRoute {
  int64_t branch_id = 0;
  int64_t split_branch_id = 0;  // 0: no split
  int split_percent = 0;
};

struct AppSnapshot {
  model::App app;
  std::string asset_url_prefix;  // <public url>/apps/<name>/assets/
  std::unordered_map<std::string, ChannelRoute> channels;  // by channel name
  std::unordered_map<int64_t, std::string> branch_names;   // by branch id (for explanations)
  std::vector<std::string> keyids;                    // in creation order; the first is the default
  BodiesByKey no_update;                              // noUpdateAvailable directive bodies
  std::unordered_map<std::string, Stream> streams;    // stream_key() -> stream
  // Launch asset (base64url SHA-256) -> the newest servable update launching it: a download of
  // it is an install of that update.
  std::unordered_map<std::string, std::string> launch_updates;
};

struct Catalog {
  std::unordered_map<std::string, std::shared_ptr<const AppSnapshot>> apps;  // by name
  int64_t built_at_ms = 0;
};

std::string stream_key(int64_t branch_id, std::string_view runtime_version, model::Platform platform);

struct BuildInputs {
  std::string public_url;
  std::string_view server_secret;
  const Catalog* previous = nullptr;  // unchanged updates are reused, not re-rendered or re-signed
};

// Reads every servable update from the database and renders what is new. Signs with each app key.
Result<std::shared_ptr<const Catalog>> build_catalog(metadata::Database& db, const BuildInputs& inputs);

// What selection decided for a request.
struct Selection {
  enum class Kind { kManifest, kNoUpdate, kRollback, kNothingForProtocol0 };
  Kind kind = Kind::kNoUpdate;
  const ServableUpdate* update = nullptr;  // kManifest and kRollback
};

// The branch a device on `channel` is routed to (a split sends split_percent% of devices, by
// EAS-Client-ID, to the split branch; devices without an id stay on the main branch).
int64_t route_branch(const std::string& channel, const ChannelRoute& route, const std::optional<std::string>& client_id);

// Picks the newest candidate the device may take: skips updates whose rollout excludes it
// (devices without EAS-Client-ID are outside every partial rollout), and applies the protocol
// rules of expo-updates-protocol.md §2.2 (noUpdateAvailable when the device runs it already;
// rollback markers; protocol 0 gets no directives).
Selection select_update(const AppSnapshot& app, const ManifestRequest& request);

// Response bodies for an app with asset tokens, for the bucket that `now_ms` falls in.
std::shared_ptr<const ServableUpdate::Tokenized> tokenized_bodies(const ServableUpdate& update, const AppSnapshot& app,
                                                                  const auth::UrlSigner& signer, int64_t now_ms);

}  // namespace ota::expo
