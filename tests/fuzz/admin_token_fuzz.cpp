// Admin API tokens (verify_token in auth/tokens.cpp): the Authorization header of every
// /api/v1 request, "Bearer ota_<id>_<secret>" or a bare token. The input is the header value.
// Four fixed tokens are stored: two valid, one revoked, one expired. Properties:
//   - a token that verifies is a stored, unrevoked, unexpired one, presented exactly (after the
//     optional "Bearer " and surrounding whitespace), and the answer is that token's record;
//   - every refusal is kUnauthorized with one and the same message (a caller learns nothing about
//     why: unknown id, wrong secret, malformed, revoked and expired all read alike).

#include <memory>
#include <string>

#include "auth/tokens.h"
#include "common/strings.h"
#include "fuzz_tokens.h"

namespace {

std::unique_ptr<ota::metadata::Database> g_db;
std::string g_refusal;  // the one message every refusal carries

// What the header presents, as RFC 6750 spells it (the scheme is case-insensitive).
std::string_view presented(std::string_view header) {
  header = ota::trim(header);
  if (header.size() > 7 && ota::iequals(header.substr(0, 7), "Bearer ")) header = ota::trim(header.substr(7));
  return header;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_db = ota::fuzz::open_db(ota::fuzz::make_temp_dir());
  ota::fuzz::insert_fixed_tokens(*g_db);
  for (const auto& t : ota::fuzz::fixed_tokens()) {
    auto v = ota::auth::verify_token(*g_db, "Bearer " + t.text(), ota::fuzz::kNowMs);
    FUZZ_CHECK(v.has_value() == t.valid);
    if (!v) g_refusal = v.error().message();
  }
  FUZZ_CHECK(!g_refusal.empty());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view header = ota::fuzz::as_view(data, size);
  auto v = ota::auth::verify_token(*g_db, header, ota::fuzz::kNowMs);
  if (!v) {
    FUZZ_CHECK(v.error().code() == ota::ErrorCode::kUnauthorized && v.error().message() == g_refusal);
    return 0;
  }
  const ota::fuzz::FixedToken* match = nullptr;
  for (const auto& t : ota::fuzz::fixed_tokens()) {
    if (presented(header) == t.text()) match = &t;
  }
  FUZZ_CHECK(match != nullptr && match->valid);
  FUZZ_CHECK(v->id == match->id && ota::auth::scope_name(v->scope) == match->scope && v->app_id == match->app_id &&
             v->expires_at_ms == match->expires_at_ms && !v->revoked_at_ms);
  return 0;
}
