// Expo Updates conformance, part 2: the asset endpoint (§5; checklist C91-C105, C113, C117) and
// asset tokens (extensions part, C68-C70, C87). Checklist numbers refer to
// /work/shared/docs/expo-updates-protocol.md §8; the map of all lines, and the ones that do not
// apply, is at the top of expo_protocol_test.cpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "expo_test_support.h"

namespace ota::testing::expo {
namespace {

using nlohmann::json;

std::vector<json> assets_of(const json& manifest) {
  std::vector<json> out = {manifest["launchAsset"]};
  for (const auto& a : manifest["assets"]) out.push_back(a);
  return out;
}

// A download the way a current client asks for an asset (§5.1), minus compression by default.
Headers asset_headers(std::string_view platform = "ios") {
  return {{"Accept", "*/*"},
          {"Accept-Encoding", "identity"},
          {"Expo-Platform", std::string(platform)},
          {"Expo-Protocol-Version", "1"},
          {"Expo-API-Version", "1"},
          {"Expo-Updates-Environment", "BARE"},
          {"Expo-Runtime-Version", "1.0.0"}};
}

class ExpoAssets : public ExpoSuite {
 protected:
  json manifest(const char* app, const char* platform) {
    auto a = server().manifest(app, device(platform));
    EXPECT_EQ(a.status(), 200) << a.http.head;
    return a.part_json("manifest");
  }
  HttpResponse fetch(const std::string& url, const Headers& headers = asset_headers()) {
    return server().get(url_path(url), headers);
  }
  // The launch asset of demo's update2 for iOS: compressible, 1.4 MB.
  json bundle() { return manifest("demo", "ios")["launchAsset"]; }
};

TEST_F(ExpoAssets, EveryAssetMatchesItsManifestEntry_C58_C60_C91_C92_C93_C97_C99) {
  for (const char* platform : {"ios", "android"}) {
    json m = manifest("demo", platform);
    ASSERT_TRUE(m.is_object());
    for (const json& asset : assets_of(m)) {
      SCOPED_TRACE(std::string(platform) + " " + asset.dump());
      auto r = fetch(asset["url"], asset_headers(platform));
      ASSERT_EQ(r.status, 200) << r.head;
      EXPECT_EQ(sha256_base64url(r.body), asset["hash"]) << "C60/C91";
      EXPECT_EQ(md5_hex(r.body), asset["key"]) << "C58";
      EXPECT_EQ(r.header_or("content-type"), asset["contentType"]) << "C92";
      EXPECT_EQ(r.header_or("cache-control"), "public, max-age=31536000, immutable") << "C93";
      auto etag = r.header("etag");
      ASSERT_TRUE(etag) << "ETag";
      EXPECT_TRUE(etag->size() > 2 && etag->front() == '"' && etag->back() == '"') << *etag;
      EXPECT_FALSE(r.header("content-encoding")) << "C97: identity only";
      EXPECT_EQ(r.header_or("content-length"), std::to_string(r.body.size()));
    }
  }
}

// A phone on a slow network: the server cannot write the bundle in one go and waits on the
// socket. Waiting workers step out of the worker gate (http/worker_gate.h); this once left the
// download stuck when every place was held by workers idling in epoll_wait.
TEST_F(ExpoAssets, ASlowReaderGetsTheWholeBundleAndKeepsItsConnection) {
  const json launch = bundle();
  const std::string path = url_path(launch["url"].get<std::string>());
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;  // a tiny receive window makes the server meet a full socket at once
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(server().port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n";
  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE("request " + std::to_string(round + 1) + " on the connection");
    ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
    std::string received;
    size_t expected_size = 0;
    while (expected_size == 0 || received.size() < expected_size) {
      char chunk[4096];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      ASSERT_GT(n, 0) << "stalled after " << received.size() << " bytes";
      received.append(chunk, static_cast<size_t>(n));
      size_t head_end = received.find("\r\n\r\n");
      if (expected_size == 0 && head_end != std::string::npos) {
        size_t at = received.find("Content-Length: ");
        ASSERT_NE(at, std::string::npos);
        expected_size = head_end + 4 + std::stoul(received.substr(at + 16));
      }
      if (received.size() % 65536 < 4096) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(sha256_base64url(received.substr(received.find("\r\n\r\n") + 4)), launch["hash"]);
  }
  ::close(fd);
}

TEST_F(ExpoAssets, Update1AssetsStillServeTheSameBytesAfterUpdate2_C101_C102) {
  for (const char* platform : {"ios", "android"}) {
    json old = json::parse(server().demo_update1_manifest(platform), nullptr, false);
    ASSERT_TRUE(old.is_object()) << "the seed has no update1 manifest for " << platform;
    ExpectedUpdate want = expected_from_export("update1", platform);
    EXPECT_EQ(old["launchAsset"]["hash"], want.launch.hash);
    EXPECT_NE(old["launchAsset"]["hash"], manifest("demo", platform)["launchAsset"]["hash"]) << "the bundles differ";
    for (const json& asset : assets_of(old)) {
      SCOPED_TRACE(std::string(platform) + " " + asset.dump());
      auto r = fetch(asset["url"], asset_headers(platform));
      ASSERT_EQ(r.status, 200) << "C101: " << r.head;
      EXPECT_EQ(sha256_base64url(r.body), asset["hash"]) << "C102";
    }
  }
}

TEST_F(ExpoAssets, SharedAssetsAreStoredOnce_C113) {
  std::set<std::string> shared_urls;
  for (const char* platform : {"ios", "android"}) {
    json u1 = json::parse(server().demo_update1_manifest(platform), nullptr, false);
    json u2 = manifest("demo", platform);
    ASSERT_TRUE(u1.is_object());
    ASSERT_EQ(u1["assets"].size(), 2u);
    ASSERT_EQ(u2["assets"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(url_path(u1["assets"][i]["url"].get<std::string>()),
                url_path(u2["assets"][i]["url"].get<std::string>()))
          << "C113: the ttf/png URL changed between update1 and update2";
      EXPECT_EQ(u1["assets"][i]["key"], u2["assets"][i]["key"]);
      shared_urls.insert(url_path(u2["assets"][i]["url"].get<std::string>()));
    }
  }
  EXPECT_EQ(shared_urls.size(), 2u) << "the same png and ttf for both platforms";
  // The publisher uploaded 2 bundles + png + ttf for update1, only the 2 new bundles for update2.
  EXPECT_EQ(server().info()["apps"]["demo"]["update1"]["files_uploaded"], 4);
  EXPECT_EQ(server().info()["apps"]["demo"]["update2"]["files_uploaded"], 2);
}

// §5.4 (etag) and HTTP caching; no checklist line, but clients and CDNs revalidate this way.
TEST_F(ExpoAssets, ConditionalRequestsGet304) {
  json b = bundle();
  auto full = fetch(b["url"]);
  ASSERT_EQ(full.status, 200);
  const std::string etag = full.header_or("etag");
  const std::string last_modified = full.header_or("last-modified");
  ASSERT_FALSE(etag.empty());
  ASSERT_FALSE(last_modified.empty());

  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    SCOPED_TRACE("If-None-Match: " + inm);
    auto r = fetch(b["url"], with(asset_headers(), "If-None-Match", inm));
    EXPECT_EQ(r.status, 304) << r.head;
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.header_or("etag"), etag);
  }
  EXPECT_EQ(fetch(b["url"], with(asset_headers(), "If-None-Match", "\"other\"")).status, 200);

  auto ims = fetch(b["url"], with(asset_headers(), "If-Modified-Since", last_modified));
  EXPECT_EQ(ims.status, 304) << ims.head;
  EXPECT_TRUE(ims.body.empty());
  auto old = fetch(b["url"], with(asset_headers(), "If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_EQ(old.status, 200);
  EXPECT_EQ(sha256_base64url(old.body), b["hash"]);
}

// HEAD on an asset (RFC 9110 §9.3.2); no checklist line.
TEST_F(ExpoAssets, HeadHasTheHeadersAndNoBody) {
  for (const json& asset : assets_of(manifest("demo", "android"))) {
    SCOPED_TRACE(asset.dump());
    auto get = fetch(asset["url"]);
    auto head =
        http_request(server().port(), "HEAD", url_path(asset["url"].get<std::string>()), asset_headers("android"));
    ASSERT_EQ(head.status, 200) << head.head;
    EXPECT_TRUE(head.body.empty());
    EXPECT_EQ(head.header_or("content-length"), std::to_string(get.body.size()));
    for (const char* h : {"content-type", "etag", "cache-control", "last-modified"}) {
      EXPECT_EQ(head.header_or(h), get.header_or(h)) << h;
    }
  }
}

// §5.2: ranges are optional ("supporting it is harmless"); otaserver supports one range.
TEST_F(ExpoAssets, RangeRequests) {
  json b = bundle();
  auto full = fetch(b["url"]);
  ASSERT_EQ(full.status, 200);
  const std::string size = std::to_string(full.body.size());

  auto first = fetch(b["url"], with(asset_headers(), "Range", "bytes=0-99"));
  ASSERT_EQ(first.status, 206) << first.head;
  EXPECT_EQ(first.header_or("content-range"), "bytes 0-99/" + size);
  EXPECT_EQ(first.body, full.body.substr(0, 100));
  EXPECT_EQ(first.header_or("content-length"), "100");

  // Ranges address the identity bytes: never encoded, even when the client accepts br.
  auto encoded = fetch(b["url"], with(with(asset_headers(), "Range", "bytes=0-99"), "Accept-Encoding", "br, gzip"));
  ASSERT_EQ(encoded.status, 206) << encoded.head;
  EXPECT_FALSE(encoded.header("content-encoding"));
  EXPECT_EQ(encoded.body, full.body.substr(0, 100));

  auto suffix = fetch(b["url"], with(asset_headers(), "Range", "bytes=-100"));
  ASSERT_EQ(suffix.status, 206) << suffix.head;
  EXPECT_EQ(suffix.body, full.body.substr(full.body.size() - 100));

  auto two = fetch(b["url"], with(asset_headers(), "Range", "bytes=0-9,20-29"));
  ASSERT_EQ(two.status, 200) << "several ranges get the whole file: " << two.head;
  EXPECT_EQ(two.body, full.body);

  auto beyond = fetch(b["url"], with(asset_headers(), "Range", "bytes=" + size + "-"));
  EXPECT_EQ(beyond.status, 416) << beyond.head;
  EXPECT_EQ(beyond.header_or("content-range"), "bytes */" + size);
}

TEST_F(ExpoAssets, ContentCodingsDecodeToTheIdentityBytes_C94_C95_C96_C97_C98_C117) {
  json m = manifest("demo", "ios");
  for (const json& asset : assets_of(m)) {
    SCOPED_TRACE(asset.dump());
    auto identity = fetch(asset["url"]);
    ASSERT_EQ(identity.status, 200);
    const bool compressible = asset["contentType"] != "image/png";
    const std::vector<std::pair<std::string, std::set<std::string>>> cases = {
        {"br", {"br"}},
        {"gzip", {"gzip"}},
        {"zstd, br, gzip", {"br", "gzip"}},
        {"gzip, deflate, br", {"br", "gzip"}},
        {"identity", {}},
        {"", {}},
        {"br;q=0, gzip;q=0", {}},
        {"gzip;q=0.5, br;q=0.1", {"gzip", "br"}},
    };
    for (const auto& [accept, allowed] : cases) {
      SCOPED_TRACE("Accept-Encoding: " + accept);
      Headers h = accept.empty() ? without(asset_headers(), "Accept-Encoding")
                                 : with(asset_headers(), "Accept-Encoding", accept);
      auto r = fetch(asset["url"], h);
      ASSERT_EQ(r.status, 200) << r.head;
      std::string coding = r.header_or("content-encoding");
      if (coding.empty()) {
        EXPECT_EQ(r.body, identity.body) << "C97";
      } else {
        EXPECT_TRUE(allowed.count(coding)) << "C117: " << coding << " was not offered";
      }
      auto decoded = decoded_body(r);
      ASSERT_TRUE(decoded) << "C94-C96: does not decode as " << coding;
      EXPECT_EQ(sha256_base64url(*decoded), asset["hash"]) << "C94-C96";
      if (compressible && (accept == "br" || accept == "gzip")) {
        EXPECT_EQ(coding, accept) << "a compressible asset asked for " << accept;
        EXPECT_LT(r.body.size(), identity.body.size());
      }
      std::string vary = r.header_or("vary");
      for (char& c : vary) c = static_cast<char>(std::tolower(c));
      EXPECT_NE(vary.find("accept-encoding"), std::string::npos) << "C98: vary is \"" << vary << "\"";
    }
  }
}

TEST_F(ExpoAssets, UnknownAssetsAre404_C100) {
  json m = manifest("demo", "android");
  const std::string android_bundle = m["launchAsset"]["hash"];
  const std::vector<std::string> targets = {
      "/apps/demo/assets/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  // well formed, not stored
      "/apps/demo/assets/" + sha256_base64url("not an asset"),
      "/apps/demo/assets/short",
      "/apps/demo/assets/7913e48d52e61fcc9823816c926d3e49",  // an md5 key is not an asset URL
      "/apps/iosonly/assets/" + android_bundle,              // stored, but not this app's
      "/apps/no-such-app/assets/" + android_bundle,
  };
  for (const auto& t : targets) {
    SCOPED_TRACE(t);
    auto r = server().get(t, asset_headers());
    expect_json_error(r, 404);
  }
}

TEST_F(ExpoAssets, PathTraversalIsRefused_C103) {
  const std::string hash = bundle()["hash"];
  const std::string secret = read_file(server().data_dir() / "secret.key");
  ASSERT_FALSE(secret.empty());
  const std::vector<std::string> targets = {
      "/apps/demo/assets/..",
      "/apps/demo/assets/../../../../etc/passwd",
      "/apps/demo/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/apps/demo/assets/%2e%2e%2f%2e%2e%2fsecret.key",
      "/apps/demo/assets/%252e%252e%252fsecret.key",
      "/apps/demo/assets/..%5c..%5csecret.key",
      "/apps/demo/assets/..\\..\\secret.key",
      "/apps/demo/assets/\\etc\\passwd",
      "/apps/demo/assets//etc/passwd",
      "/apps/demo/assets/%2fetc%2fpasswd",
      "/apps/demo/assets/" + hash + "/../../../secret.key",
      "/apps/demo/assets/" + hash + "%00.png",
      "/apps/demo/assets/metadata.db",
      "/apps/..%2f..%2f/assets/" + hash,
  };
  for (const auto& t : targets) {
    SCOPED_TRACE(t);
    auto r = server().get(t, asset_headers());
    EXPECT_TRUE(r.status == 400 || r.status == 404) << r.head;
    EXPECT_EQ(r.body.find("root:"), std::string::npos);
    EXPECT_EQ(r.body.find(secret), std::string::npos);
    EXPECT_EQ(r.body.find("SQLite format"), std::string::npos);
  }
  ASSERT_EQ(server().get("/healthz").status, 200);
}

TEST_F(ExpoAssets, ExpoRequestHeadersDoNotChangeTheBytes_C104) {
  json b = bundle();
  auto plain = fetch(b["url"], {{"Accept-Encoding", "identity"}});
  ASSERT_EQ(plain.status, 200);
  Headers noisy = asset_headers("android");  // a different platform than the asset's
  noisy = with(noisy, "EAS-Client-ID", "3F2504E0-4F89-41D3-9A0C-0305E82C3301");
  noisy = with(noisy, "Expo-Current-Update-ID", server().update_id("demo", "update1", "ios"));
  noisy = with(noisy, "Expo-Requested-Update-ID", server().update_id("demo", "update2", "ios"));
  noisy = with(noisy, "Expo-Runtime-Version", "9.9.9");
  noisy = with(noisy, "Expo-Protocol-Version", "0");
  auto r = fetch(b["url"], noisy);
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(r.body, plain.body);
  for (const char* h : {"content-type", "etag", "cache-control", "content-encoding"}) {
    EXPECT_EQ(r.header_or(h), plain.header_or(h)) << h;
  }
}

TEST_F(ExpoAssets, BsdiffRequestGetsTheFullFile_C105_C107) {
  json b = bundle();
  for (const std::string& encoding : {std::string("identity"), std::string("br, gzip")}) {
    Headers h = with(asset_headers(), "A-IM", "bsdiff");
    h = with(h, "Accept-Encoding", encoding);
    h = with(h, "Expo-Current-Update-ID", server().update_id("demo", "update1", "ios"));
    h = with(h, "Expo-Requested-Update-ID", server().update_id("demo", "update2", "ios"));
    auto r = fetch(b["url"], h);
    ASSERT_EQ(r.status, 200) << "C105: " << r.head;
    auto decoded = decoded_body(r);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(sha256_base64url(*decoded), b["hash"]) << "C105: the full file";
    EXPECT_FALSE(r.header("im")) << "C107";
    EXPECT_FALSE(r.header("expo-base-update-id")) << "C107";
  }
  // C107: and without A-IM never a patch either.
  auto r = fetch(b["url"]);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.header("im"));
}

TEST_F(ExpoAssets, ManifestCodingsAreNegotiatedToo_C117) {
  std::string identity_part;
  for (const std::string& accept :
       {std::string(""), std::string("identity"), std::string("gzip"), std::string("br"), std::string("zstd, br, gzip"),
        std::string("deflate"), std::string("br;q=0, gzip;q=0"), std::string("br;q=0, gzip")}) {
    SCOPED_TRACE("Accept-Encoding: " + accept);
    Headers h =
        accept.empty() ? without(device("ios"), "Accept-Encoding") : with(device("ios"), "Accept-Encoding", accept);
    auto a = server().manifest("demo", h);
    ASSERT_EQ(a.status(), 200);
    std::string coding = a.http.header_or("content-encoding");
    if (accept == "gzip" || accept == "br") {
      EXPECT_EQ(coding, accept);
    }
    if (accept.empty() || accept == "identity" || accept == "deflate" || accept == "br;q=0, gzip;q=0") {
      EXPECT_EQ(coding, "") << "C117";
    }
    if (accept == "br;q=0, gzip") {
      EXPECT_EQ(coding, "gzip") << "C117";
    }
    if (!coding.empty()) {
      EXPECT_NE(accept.find(coding), std::string::npos) << "C117";
    }
    EXPECT_NE(a.http.header_or("vary").find("accept-encoding"), std::string::npos);
    expect_valid_multipart(a);
    ASSERT_NE(a.part("manifest"), nullptr);
    if (identity_part.empty()) identity_part = a.part("manifest")->body;
    EXPECT_EQ(a.part("manifest")->body, identity_part) << "the decoded body is the same bytes";
  }
}

// ---- asset tokens: C68-C70, C87 ----------------------------------------------------------------------

class ExpoAssetTokens : public ExpoSuite {};

TEST_F(ExpoAssetTokens, TokensGateAssetsWithoutTouchingTheSignedManifest_C68_C69_C70_C87) {
  const Headers signed_ios = with(device("ios"), "expo-expect-signature", std::string(kExpectSignature));
  auto before = server().manifest("tokens", signed_ios);
  ASSERT_EQ(before.status(), 200) << before.http.head;
  expect_valid_multipart(before);
  ASSERT_NE(before.part("manifest"), nullptr);
  const std::string manifest_bytes = before.part("manifest")->body;
  const std::string signature = before.part("manifest")->header("expo-signature").value_or("");
  ASSERT_FALSE(signature.empty());
  if (const Part* ext = before.part("extensions")) {
    json e = json::parse(ext->body);
    EXPECT_TRUE(e.value("assetRequestHeaders", json::object()).empty()) << "tokens are off: " << ext->body;
  }
  const json m = json::parse(manifest_bytes);
  const std::string png_url = m["assets"][1]["url"];
  ASSERT_EQ(m["assets"][1]["contentType"], "image/png");
  EXPECT_EQ(server().get(url_path(png_url), asset_headers()).status, 200) << "tokens off: no token needed";

  for (const char* app : {"tokens", "tokens2"}) {
    auto r = server().cli({"app", "set", app, "--asset-tokens", "true"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  for (const char* platform : {"ios", "android"}) {
    SCOPED_TRACE(platform);
    auto after =
        server().manifest("tokens", with(device(platform), "expo-expect-signature", std::string(kExpectSignature)));
    ASSERT_EQ(after.status(), 200) << after.http.head;
    expect_valid_multipart(after);
    ASSERT_NE(after.part("manifest"), nullptr);
    const Part& mp = *after.part("manifest");
    if (std::string(platform) == "ios") {
      EXPECT_EQ(mp.body, manifest_bytes) << "the manifest part must not change when tokens are turned on";
      EXPECT_EQ(mp.header("expo-signature").value_or(""), signature);
    }
    expect_signature_verifies(mp.header("expo-signature").value_or(""), mp.body, server().cert("tokens"));

    const Part* ext = after.part("extensions");
    ASSERT_NE(ext, nullptr) << "no extensions part with tokens on";
    EXPECT_FALSE(ext->header("expo-signature")) << "C87";
    EXPECT_EQ(ext->header("content-type").value_or(""), "application/json") << "C41";
    json e = json::parse(ext->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << "C68";
    ASSERT_TRUE(e.contains("assetRequestHeaders") && e["assetRequestHeaders"].is_object()) << "C68";
    const json pm = json::parse(mp.body);
    std::set<std::string> keys, header_keys;
    for (const json& a : assets_of(pm)) keys.insert(a["key"].get<std::string>());
    for (const auto& [key, headers] : e["assetRequestHeaders"].items()) {
      header_keys.insert(key);
      ASSERT_TRUE(headers.is_object()) << "C68";
      EXPECT_EQ(headers.size(), 1u) << "only ota-asset-token: " << headers.dump();
      for (const auto& [name, value] : headers.items()) {
        EXPECT_TRUE(value.is_string()) << "C68";
        std::string n = name;
        for (char& c : n) c = static_cast<char>(std::tolower(c));
        EXPECT_NE(n, "accept-encoding") << "C69";
        EXPECT_EQ(name, "ota-asset-token");
      }
    }
    EXPECT_EQ(header_keys, keys) << "C70, and every asset gets its token";

    std::map<std::string, std::string> token_for;  // url path -> token
    for (const json& a : assets_of(pm)) {
      SCOPED_TRACE(a.dump());
      const std::string path = url_path(a["url"].get<std::string>());
      const std::string token = e["assetRequestHeaders"][a["key"].get<std::string>()].value("ota-asset-token", "");
      ASSERT_FALSE(token.empty());
      token_for[path] = token;
      auto ok = server().get(path, with(asset_headers(platform), "ota-asset-token", token));
      ASSERT_EQ(ok.status, 200) << ok.head << ok.body;
      EXPECT_EQ(sha256_base64url(ok.body), a["hash"]);
      auto br =
          server().get(path, with(with(asset_headers(platform), "ota-asset-token", token), "Accept-Encoding", "br"));
      ASSERT_EQ(br.status, 200);
      EXPECT_EQ(sha256_base64url(decoded_body(br).value_or("")), a["hash"]);

      expect_json_error(server().get(path, asset_headers(platform)), 403);
      std::string tampered = token;
      tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
      expect_json_error(server().get(path, with(asset_headers(platform), "ota-asset-token", tampered)), 403);
      expect_json_error(server().get(path, with(asset_headers(platform), "ota-asset-token", token + "x")), 403);
      expect_json_error(server().get(path, with(asset_headers(platform), "ota-asset-token", "")), 403);
    }
    // One asset's token does not open another asset.
    ASSERT_GE(token_for.size(), 2u);
    auto it = token_for.begin();
    auto other = std::next(it);
    expect_json_error(server().get(it->first, with(asset_headers(platform), "ota-asset-token", other->second)), 403);
  }

  // Another app's token for the very same bytes (the png is in both apps) does not open this app's.
  auto t2 = server().manifest("tokens2", device("ios"));
  ASSERT_EQ(t2.status(), 200);
  json e2 = t2.part_json("extensions");
  json m2 = t2.part_json("manifest");
  ASSERT_TRUE(e2.is_object()) << "tokens2 has tokens on";
  ASSERT_EQ(m2["assets"][1]["hash"], m["assets"][1]["hash"]);
  const std::string png_key = m2["assets"][1]["key"];
  const std::string token2 = e2["assetRequestHeaders"][png_key].value("ota-asset-token", "");
  ASSERT_FALSE(token2.empty());
  EXPECT_EQ(
      server()
          .get(url_path(m2["assets"][1]["url"].get<std::string>()), with(asset_headers(), "ota-asset-token", token2))
          .status,
      200);
  expect_json_error(server().get(url_path(png_url), with(asset_headers(), "ota-asset-token", token2)), 403);

  // Turned off again: no token needed, no extensions.
  ASSERT_EQ(server().cli({"app", "set", "tokens", "--asset-tokens", "false"}).exit_code, 0);
  EXPECT_EQ(server().get(url_path(png_url), asset_headers()).status, 200);
  auto off = server().manifest("tokens", signed_ios);
  ASSERT_NE(off.part("manifest"), nullptr);
  EXPECT_EQ(off.part("manifest")->body, manifest_bytes);
  if (const Part* ext = off.part("extensions")) {
    EXPECT_TRUE(json::parse(ext->body).value("assetRequestHeaders", json::object()).empty());
  }
}

}  // namespace
}  // namespace ota::testing::expo
