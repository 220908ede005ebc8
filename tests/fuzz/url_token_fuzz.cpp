// Asset URL tokens (auth/url_signer.cpp): "v1.<kid>.<exp>.<mac>" in ota-asset-token or ?token=,
// checked on every asset download of an app with asset tokens. Keys are fixed here: k1 is
// retired (not loaded), k2 is retiring (still verifies), k3 signs. Input: the token on the first
// line, the app and the asset hash on the next two, a number on the fourth (the expiry offset for
// the sign-then-verify check). Properties:
//   - a token that verifies is one this server issued: "v1", a live kid, an expiry in
//     (now, now + 7 days + 1 h], and the HMAC of exactly this app, asset and expiry text under
//     that kid's key (computed here from the documented format);
//   - verify(issue(app, asset, exp)) succeeds for every expiry in that window, and fails for any
//     one-byte change of the token, another app or another asset;
//   - every refusal is kForbidden.

#include <memory>
#include <string>

#include "auth/url_signer.h"
#include "common/encoding.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "crypto/seal.h"
#include "fuzz_db.h"

namespace {

using ota::fuzz::kNowMs;

struct Key {
  const char* kid;
  const char* key;  // 32 bytes
};
constexpr Key kRetired{"k1", "url-key-k1-retired-before-now..."};
constexpr Key kRetiring{"k2", "url-key-k2-retires-in-an-hour..."};
constexpr Key kCurrent{"k3", "url-key-k3-signs-new-tokens-...."};
constexpr int64_t kNowS = kNowMs / 1000;

std::unique_ptr<ota::metadata::Database> g_db;
std::unique_ptr<ota::auth::UrlSigner> g_signer;

std::string model_mac(std::string_view key, std::string_view kid, std::string_view app, std::string_view asset,
                      std::string_view exp) {
  std::string message =
      "v1\n" + std::string(kid) + "\n" + std::string(app) + "\n" + std::string(asset) + "\n" + std::string(exp);
  auto m = ota::crypto::hmac_sha256(key, message);
  return ota::base64url_encode(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()));
}

const Key* live_key(std::string_view kid) {
  if (kid == kRetiring.kid) return &kRetiring;
  if (kid == kCurrent.kid) return &kCurrent;
  return nullptr;
}

ota::Status verify(std::string_view token, std::string_view app, std::string_view asset) {
  ota::Status st = g_signer->verify(token, app, asset, kNowMs);
  if (!st) FUZZ_CHECK(st.error().code() == ota::ErrorCode::kForbidden);
  return st;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto dir = ota::fuzz::make_temp_dir();
  g_db = ota::fuzz::open_db(dir);
  const std::string seal_key = ota::crypto::derive_key(ota::fuzz::kServerSecret, "seal");
  {
    auto tx = g_db->begin_write();
    ota::fuzz::must(tx, "begin");
    const struct {
      const Key& k;
      std::optional<int64_t> retired_at;
    } rows[] = {{kRetired, kNowMs - 1}, {kRetiring, kNowMs + 3'600'000}, {kCurrent, std::nullopt}};
    int64_t created = 1;
    for (const auto& row : rows) {
      auto sealed = ota::crypto::seal(seal_key, row.k.key, std::string("url-key:") + row.k.kid);
      ota::fuzz::must(sealed, "seal");
      ota::fuzz::must(
          tx->execute("INSERT INTO url_keys (kid, sealed_key, created_at_ms, retired_at_ms) VALUES (?, ?, ?, ?)",
                      row.k.kid, ota::metadata::Blob{*sealed}, created++, row.retired_at),
          "insert url key");
    }
    ota::fuzz::must(tx->commit(), "commit");
  }
  auto signer = ota::auth::UrlSigner::load(*g_db, ota::fuzz::kServerSecret, kNowMs);
  ota::fuzz::must(signer, "load signer");
  g_signer = std::make_unique<ota::auth::UrlSigner>(std::move(*signer));
  FUZZ_CHECK(g_signer->current_kid() == kCurrent.kid);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 4);
  const std::string_view token = f[0], app = f[1], asset = f[2];

  if (verify(token, app, asset)) {
    auto parts = ota::split(token, '.');
    FUZZ_CHECK(parts.size() == 4 && parts[0] == "v1");
    const Key* key = live_key(parts[1]);
    FUZZ_CHECK(key != nullptr);
    auto exp = ota::parse_uint(parts[2]);
    FUZZ_CHECK(exp && static_cast<int64_t>(*exp) > kNowS &&
               static_cast<int64_t>(*exp) <= kNowS + ota::auth::kMaxAssetTokenTtlS + 3600);
    FUZZ_CHECK(parts[3] == model_mac(key->key, parts[1], app, asset, parts[2]));
  }

  // Sign, then verify: the token we issue for this app and asset, at an expiry in the window.
  const uint64_t offset = ota::parse_uint(f[3].substr(0, 18)).value_or(f[3].size());
  const int64_t exp = kNowS + 1 + static_cast<int64_t>(offset % (ota::auth::kMaxAssetTokenTtlS + 3600));
  const std::string issued = g_signer->issue(app, asset, exp);
  FUZZ_CHECK(issued == "v1.k3." + std::to_string(exp) + "." +
                           model_mac(kCurrent.key, kCurrent.kid, app, asset, std::to_string(exp)));
  FUZZ_CHECK(verify(issued, app, asset));
  FUZZ_CHECK(!verify(issued, std::string(app) + "x", asset));
  FUZZ_CHECK(!verify(issued, app, std::string(asset) + "x"));
  std::string mutated = issued;
  const size_t pos = offset % mutated.size();
  mutated[pos] = static_cast<char>(mutated[pos] ^ (1 + offset % 255));
  FUZZ_CHECK(!verify(mutated, app, asset));
  FUZZ_CHECK(!verify(issued.substr(0, issued.size() - 1), app, asset));
  return 0;
}
