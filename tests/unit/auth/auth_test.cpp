#include <gtest/gtest.h>

#include "auth/tokens.h"
#include "auth/url_signer.h"
#include "crypto/digest.h"
#include "storage/metadata/migrations.h"
#include "support/temp_dir.h"

namespace ota::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000'000;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = metadata::Database::open({.path = dir_ / "metadata.db"});
    ASSERT_TRUE(db) << db.error().message();
    db_ = std::move(*db);
    ASSERT_TRUE(metadata::migrate(*db_));
    auto tx = db_->begin_write();
    ASSERT_TRUE(tx);
    ASSERT_TRUE(tx->execute("INSERT INTO apps (name, created_at_ms) VALUES ('a1', 0), ('a2', 0)"));
    ASSERT_TRUE(tx->commit());
  }

  NewToken create(TokenSpec spec) {
    auto tx = db_->begin_write();
    EXPECT_TRUE(tx);
    auto t = create_token(*tx, spec, kNow);
    EXPECT_TRUE(t) << t.error().message();
    EXPECT_TRUE(tx->commit());
    return *t;
  }

  testing::TempDir dir_;
  std::unique_ptr<metadata::Database> db_;
};

TEST_F(AuthTest, CreatedTokenVerifiesAndOnlyItsHashIsStored) {
  NewToken t = create({"ci", Scope::kPublish, std::nullopt, std::nullopt});
  EXPECT_TRUE(t.token.starts_with("ota_" + t.info.id + "_"));
  auto v = verify_token(*db_, "Bearer " + t.token, kNow);
  ASSERT_TRUE(v) << v.error().message();
  EXPECT_EQ(v->name, "ci");
  EXPECT_EQ(v->scope, Scope::kPublish);

  auto tx = db_->begin_read();
  auto q = tx->query("SELECT secret_sha256 FROM admin_tokens");
  ASSERT_TRUE(q && *q->next());
  // ota_<12-char id>_<secret>: fixed offsets, since base64url secrets may themselves contain '_'.
  std::string secret = t.token.substr(4 + 12 + 1);
  EXPECT_EQ(q->blob(0), std::string(crypto::sha256(secret).view()));
  EXPECT_EQ(q->blob(0).find(secret), std::string::npos);
}

TEST_F(AuthTest, WrongSecretUnknownIdMalformedRevokedAndExpiredAllFailTheSameWay) {
  NewToken t = create({"ci", Scope::kAdmin, std::nullopt, kNow + 1000});
  std::string wrong = t.token;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  std::vector<std::string> bad = {wrong, "ota_xxxxxxxxxxxx_" + t.token.substr(4 + 12 + 1), "garbage", ""};
  std::string message;
  for (const auto& b : bad) {
    auto v = verify_token(*db_, b, kNow);
    ASSERT_FALSE(v) << b;
    EXPECT_EQ(v.error().code(), ErrorCode::kUnauthorized);
    if (message.empty()) message = v.error().message();
    EXPECT_EQ(v.error().message(), message);
  }
  auto expired = verify_token(*db_, t.token, kNow + 1000);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().message(), message);

  auto tx = db_->begin_write();
  ASSERT_TRUE(revoke_token(*tx, t.info.id, kNow));
  ASSERT_TRUE(tx->commit());
  auto revoked = verify_token(*db_, t.token, kNow);
  ASSERT_FALSE(revoked);
  EXPECT_EQ(revoked.error().message(), message);
}

TEST_F(AuthTest, ScopesNestAndAppBoundTokensStayInTheirApp) {
  TokenInfo publish;
  publish.scope = Scope::kPublish;
  EXPECT_TRUE(authorize(publish, Scope::kRead, std::nullopt));
  EXPECT_TRUE(authorize(publish, Scope::kPublish, 1));
  auto denied = authorize(publish, Scope::kAdmin, std::nullopt);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), ErrorCode::kForbidden);

  NewToken bound = create({"app1-ci", Scope::kAdmin, std::string("a1"), std::nullopt});
  ASSERT_TRUE(bound.info.app_id);
  EXPECT_TRUE(authorize(bound.info, Scope::kAdmin, *bound.info.app_id));
  EXPECT_FALSE(authorize(bound.info, Scope::kRead, *bound.info.app_id + 1));
  EXPECT_FALSE(authorize(bound.info, Scope::kRead, std::nullopt));
}

TEST_F(AuthTest, TokenForAnUnknownAppIsRefused) {
  auto tx = db_->begin_write();
  auto t = create_token(*tx, {"x", Scope::kRead, std::string("nope"), std::nullopt}, kNow);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code(), ErrorCode::kNotFound);
}

const std::string kSecret(32, 's');
const std::string kHash = crypto::sha256("asset").base64url();

TEST_F(AuthTest, AssetTokenVerifiesForItsAppAndAssetUntilItExpires) {
  auto signer = UrlSigner::load(*db_, kSecret, kNow);
  ASSERT_TRUE(signer) << signer.error().message();
  int64_t exp = kNow / 1000 + 3600;
  std::string token = signer->issue("a1", kHash, exp);
  EXPECT_TRUE(signer->verify(token, "a1", kHash, kNow));
  EXPECT_FALSE(signer->verify(token, "a2", kHash, kNow));                                  // other app
  EXPECT_FALSE(signer->verify(token, "a1", crypto::sha256("other").base64url(), kNow));    // other asset
  EXPECT_FALSE(signer->verify(token, "a1", kHash, exp * 1000));                            // expired
  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(signer->verify(tampered, "a1", kHash, kNow));
  std::string later = token;
  later.replace(later.find(std::to_string(exp)), std::to_string(exp).size(), std::to_string(exp + 100));
  EXPECT_FALSE(signer->verify(later, "a1", kHash, kNow));  // a changed expiry breaks the MAC
  for (const char* junk : {"", "v1", "v1.k1.1.x", "v2.k1.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto st = signer->verify(junk, "a1", kHash, kNow);
    ASSERT_FALSE(st) << junk;
    EXPECT_EQ(st.error().code(), ErrorCode::kForbidden);
  }
  std::string far = signer->issue("a1", kHash, kNow / 1000 + kMaxAssetTokenTtlS + 7200);
  EXPECT_FALSE(signer->verify(far, "a1", kHash, kNow));  // beyond the TTL ceiling
}

TEST_F(AuthTest, RotationKeepsOldTokensValidUntilTheOldKeyRetires) {
  auto before = UrlSigner::load(*db_, kSecret, kNow);
  ASSERT_TRUE(before);
  std::string old_token = before->issue("a1", kHash, kNow / 1000 + 3600);
  {
    auto tx = db_->begin_write();
    auto kid = rotate_url_key(*tx, kSecret, kNow, 7200 * 1000);
    ASSERT_TRUE(kid) << kid.error().message();
    EXPECT_NE(*kid, before->current_kid());
    ASSERT_TRUE(tx->commit());
  }
  auto after = UrlSigner::load(*db_, kSecret, kNow + 1000);
  ASSERT_TRUE(after);
  EXPECT_NE(after->current_kid(), before->current_kid());
  EXPECT_TRUE(after->verify(old_token, "a1", kHash, kNow + 1000));
  std::string new_token = after->issue("a1", kHash, kNow / 1000 + 3600);
  EXPECT_TRUE(after->verify(new_token, "a1", kHash, kNow + 1000));
  // Once retired, the old key is gone.
  auto much_later = UrlSigner::load(*db_, kSecret, kNow + 7200 * 1000 + 1);
  ASSERT_TRUE(much_later);
  EXPECT_FALSE(much_later->verify(old_token, "a1", kHash, kNow + 1000));
}

TEST_F(AuthTest, UrlKeysDoNotOpenWithAnotherServerSecret) {
  ASSERT_TRUE(UrlSigner::load(*db_, kSecret, kNow));
  auto other = UrlSigner::load(*db_, std::string(32, 'x'), kNow);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code(), ErrorCode::kCorruption);
}

}  // namespace
}  // namespace ota::auth
