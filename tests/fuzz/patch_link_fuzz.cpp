// Single-use patch download links (PatchService::download in protocol/patch/service.cpp):
// GET /patches/download/<nonce>.<exp>.<mac>. Input: a token on the first line, downloaded as
// given; if a second line is present, a fresh link is also issued through the check endpoint and
// changed as it says ("<position> <xor byte>", or "expire"). Properties:
//   - a token downloads only if this server issued it and it was not used: a made-up or changed
//     token is refused (403 kForbidden, 410 kGone), never served;
//   - a fresh link downloads exactly once, the patch it names; after its lifetime it is gone.

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "fuzz_patches.h"

namespace {

using ota::fuzz::patch_server;

std::set<std::string> g_unused;  // issued links not downloaded yet

std::string issue_link() {
  auto& s = patch_server();
  ota::patch::PatchQuery q{ota::model::Platform::kIos, "3.4.1", "18221", std::nullopt};
  auto answer = s.service->check("app", q, "");
  FUZZ_CHECK(answer.has_value());
  auto j = nlohmann::json::parse(*answer);
  FUZZ_CHECK(j["update"] == true);
  const std::string url = j["url"];
  const std::string token = url.substr(url.rfind('/') + 1);
  g_unused.insert(token);
  return token;
}

ota::Result<ota::patch::PatchService::Download> download(const std::string& token) {
  auto d = patch_server().service->download(token);
  if (d) {
    FUZZ_CHECK(g_unused.erase(token) == 1);  // issued, and not used before
    FUZZ_CHECK(d->patch != nullptr && !d->patch->revoked);
  } else {
    FUZZ_CHECK(d.error().code() == ota::ErrorCode::kForbidden || d.error().code() == ota::ErrorCode::kGone);
  }
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ota::fuzz::start_patch_server();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& s = patch_server();
  // Earlier runs' links expire, so the service's link table (and ours) stay small.
  s.clock.advance(ota::fuzz::kLinkTtlMs + 1);
  g_unused.clear();

  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  (void)download(std::string(f[0]));
  if (size == f[0].size()) return 0;  // no second line

  const std::string token = issue_link();
  if (f[1] == "expire") {
    s.clock.advance(ota::fuzz::kLinkTtlMs);
    auto d = s.service->download(token);
    FUZZ_CHECK(!d && d.error().code() == ota::ErrorCode::kGone);
    return 0;
  }
  auto words = ota::split(f[1], ' ');
  std::string changed = token;
  if (words.size() == 2) {
    const size_t pos = ota::parse_uint(words[0].substr(0, 9)).value_or(0);
    const uint64_t x = ota::parse_uint(words[1].substr(0, 9)).value_or(1);
    if (pos < changed.size()) {
      changed[pos] = static_cast<char>(changed[pos] ^ static_cast<char>(x));
    } else {
      changed.append(words[1]);
    }
  } else {
    changed = std::string(f[1]) + token;
  }
  if (changed != token) FUZZ_CHECK(!download(changed));
  FUZZ_CHECK(download(token).has_value());
  auto again = s.service->download(token);
  FUZZ_CHECK(!again && again.error().code() == ota::ErrorCode::kGone);
  return 0;
}
