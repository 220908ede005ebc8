// Native hot-patch requests (protocol/patch/service.cpp): an app's own path template
// ("/rc/{short}/{build}.config") matched against any request path, and the patch check/answer for
// a device's app, platform, version, build, device id and current hash. Input, one per line: the
// request path; the device id (empty: none); the hash the device holds; "app platform version
// build" for a direct query. Properties:
//   - a matched path is exactly its app's template with the captured values put in (so nothing
//     else in the path was skipped), the version parses, and values hold no '/', 1-64 bytes;
//   - an answer names a patch of the asked platform whose range contains the version, whose build
//     (if it has one) is the device's, and whose preview list or rollout lets the device in; a
//     version that does not parse is refused (400) and an unknown app is 404;
//   - a check answer is JSON; a patch it offers has a download link that works exactly once, and
//     a device that already holds the patch (its hash) is told there is nothing new.

#include <nlohmann/json.hpp>

#include <string>

#include "common/strings.h"
#include "fuzz_patches.h"
#include "model/rollout.h"

namespace {

using ota::fuzz::patch_server;
using ota::patch::Outcome;
using ota::patch::PatchQuery;

// The template with each {variable} replaced by what the match captured, in one pass (a captured
// value may itself look like "{platform}").
std::string fill(std::string_view tmpl, const PatchQuery& q) {
  std::string out;
  while (!tmpl.empty()) {
    const size_t open = tmpl.find('{');
    out.append(tmpl.substr(0, open));
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find('}', open);
    FUZZ_CHECK(close != std::string_view::npos);
    const std::string_view var = tmpl.substr(open + 1, close - open - 1);
    if (var == "short" || var == "version") out += q.version_text;
    if (var == "build") out += q.build;
    if (var == "platform") out += ota::model::platform_name(q.platform);
    tmpl.remove_prefix(close + 1);
  }
  return out;
}

void check_answer(const std::string& app, const PatchQuery& q, std::string_view have_hash) {
  auto& s = patch_server();
  auto answer = s.service->answer(app, q);
  const bool known = s.templates.count(app) > 0 || app == "app4";
  if (!known) {
    FUZZ_CHECK(!answer && answer.error().code() == ota::ErrorCode::kNotFound);
    return;
  }
  auto version = ota::model::parse_version(q.version_text);
  if (!version) {
    FUZZ_CHECK(!answer && answer.error().code() == ota::ErrorCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(answer.has_value());
  if (answer->outcome == Outcome::kNone) {
    FUZZ_CHECK(answer->patch == nullptr);
  } else {
    const ota::patch::ServablePatch& p = *answer->patch;
    FUZZ_CHECK(p.platform == q.platform && p.range.contains(*version));
    FUZZ_CHECK(!p.build || *p.build == q.build);
    if (!p.preview_devices.empty()) {
      FUZZ_CHECK(q.device_id && std::find(p.preview_devices.begin(), p.preview_devices.end(), *q.device_id) !=
                                    p.preview_devices.end());
    } else if (p.rollout_percent < 100) {
      FUZZ_CHECK(q.device_id && ota::model::in_rollout(p.rollout_salt, *q.device_id, p.rollout_percent));
    }
    FUZZ_CHECK((answer->outcome == Outcome::kRevoked) == p.revoked);
  }

  auto checked = s.service->check(app, q, have_hash);
  FUZZ_CHECK(checked.has_value());
  auto j = nlohmann::json::parse(*checked, nullptr, false);
  FUZZ_CHECK(j.is_object() && j["update"].is_boolean());
  if (answer->outcome == Outcome::kRevoked) FUZZ_CHECK(j["update"] == false && j["revoked"] == true);
  if (answer->outcome == Outcome::kNone) FUZZ_CHECK(j["update"] == false);
  if (j["update"] == true) {
    FUZZ_CHECK(answer->outcome == Outcome::kPatch);
    FUZZ_CHECK(j["sha256"] == answer->patch->body_sha256.base64url());
    const std::string url = j["url"];
    const std::string prefix = std::string(ota::fuzz::kPublicUrl) + "/patches/download/";
    FUZZ_CHECK(ota::starts_with(url, prefix));
    const std::string token = url.substr(prefix.size());
    auto first = s.service->download(token);
    FUZZ_CHECK(first && first->patch == answer->patch);
    auto second = s.service->download(token);
    FUZZ_CHECK(!second && second.error().code() == ota::ErrorCode::kGone);
    // The device now holds it: nothing new for it.
    auto again = s.service->check(app, q, answer->patch->body_sha256.base64url());
    FUZZ_CHECK(again && nlohmann::json::parse(*again)["update"] == false);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ota::fuzz::start_patch_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t runs = 0;
  auto& s = patch_server();
  // Links of earlier runs expire (so the link table stays small); counters go to SQLite now and then.
  s.clock.advance(ota::fuzz::kLinkTtlMs + 1);
  if (++runs % 4096 == 0) ota::fuzz::must(s.service->flush_counters(), "flush counters");

  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 4);
  const std::string path(f[0]);
  std::optional<std::string> device;
  if (!f[1].empty()) device = std::string(f[1]);
  const std::string_view have_hash = f[2];

  if (auto match = s.service->match_template(path, device)) {
    const auto& [app, q] = *match;
    FUZZ_CHECK(s.templates.count(app) == 1);
    FUZZ_CHECK(fill(s.templates[app], q) == path);
    FUZZ_CHECK(ota::model::parse_version(q.version_text).has_value());
    FUZZ_CHECK(q.device_id == device);
    for (const std::string* v : {&q.version_text, &q.build}) {
      FUZZ_CHECK(v->find('/') == std::string::npos && v->size() <= 64);
    }
    check_answer(app, q, have_hash);
  }

  // A direct query: "app platform version build".
  auto words = ota::split(f[3], ' ');
  if (words.size() == 4) {
    auto platform = ota::model::parse_platform(words[1]);
    if (platform) {
      PatchQuery q{*platform, std::string(words[2]), std::string(words[3]), device};
      check_answer(std::string(words[0]), q, have_hash);
    }
  }
  return 0;
}
