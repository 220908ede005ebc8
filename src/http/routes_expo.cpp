// The Expo Updates endpoints (expo-updates-protocol.md §1-§5). Both read only precomputed state:
// the manifest route picks a prebuilt body from the catalog snapshot, the asset route streams a
// shared buffer; neither renders, hashes, signs or compresses per request.
#include <algorithm>

#include "common/log.h"
#include "http/errors.h"
#include "http/header_source.h"
#include "http/negotiation.h"
#include "http/request_context.h"
#include "http/routes.h"

namespace ota::http {
namespace {

constexpr char kManifestVary[] =
    "accept, accept-encoding, expo-platform, expo-runtime-version, expo-channel-name, expo-protocol-version, "
    "expo-current-update-id, expo-embedded-update-id, expo-expect-signature, eas-client-id";
constexpr char kAppPattern[] = "([A-Za-z0-9._+-]{1,64})";
constexpr size_t kChunk = 256 * 1024;

// Streams a slice of a shared immutable buffer: no copy of the asset per response.
void stream_buffer(httplib::Response& res, std::shared_ptr<const std::string> buffer, size_t offset, size_t length,
                   const std::string& content_type) {
  res.set_content_provider(length, content_type,
                           [buffer, offset](size_t off, size_t len, httplib::DataSink& sink) {
                             return sink.write(buffer->data() + offset + off, std::min(len, kChunk));
                           });
}

void serve_manifest(const httplib::Request& req, httplib::Response& res, const Services& services) {
  RequestHeaders headers(req);
  auto parsed = expo::parse_manifest_request(headers);
  if (!parsed) {
    send_error(res, parsed.error(), current_request().id);
    return;
  }
  expo::ManifestAnswer answer = services.expo->answer(req.matches[1].str(), *parsed);
  res.set_header("expo-protocol-version", parsed->protocol_version == 0 ? "0" : "1");
  res.set_header("expo-sfv-version", "0");
  res.set_header("cache-control", "private, max-age=0");
  res.set_header("vary", kManifestVary);
  if (answer.error) {
    send_error(res, *answer.error, current_request().id);
    return;
  }
  const expo::Body& body = *answer.body;
  if (!answer.signature.empty()) res.set_header("expo-signature", std::string(answer.signature));
  auto coding = choose_coding(req.get_header_value("Accept-Encoding"), !body.gzip.empty(), !body.br.empty());
  const std::string* bytes = &body.identity;
  if (coding == Coding::kBr) {
    bytes = &body.br;
    res.set_header("content-encoding", "br");
  } else if (coding == Coding::kGzip) {
    bytes = &body.gzip;
    res.set_header("content-encoding", "gzip");
  }
  // The bytes live in the catalog snapshot; `answer.hold` keeps it alive until sent.
  auto hold = answer.hold;
  std::string_view view(*bytes);
  res.set_content_provider(view.size(), body.content_type, [hold, view](size_t off, size_t len, httplib::DataSink& sink) {
    return sink.write(view.data() + off, std::min(len, view.size() - off));
  });
}

// A full download (or the first range of one) of a launch asset counts as an install; HEAD,
// 304 and resumed ranges do not.
void note_download(const httplib::Request& req, const Services& services) {
  if (req.method != "GET") return;
  std::string device = req.get_header_value("EAS-Client-ID");
  std::optional<std::string_view> id;
  if (!device.empty() && device.size() <= 128) id = device;
  services.expo->note_download(req.matches[1].str(), req.matches[2].str(), id);
}

bool not_modified(const httplib::Request& req, const expo::ServedAsset& asset) {
  if (req.has_header("If-None-Match")) return if_none_match_matches(req.get_header_value("If-None-Match"), asset.etag);
  if (req.has_header("If-Modified-Since")) {
    auto since = parse_http_date(req.get_header_value("If-Modified-Since"));
    return since && asset.last_modified_ms / 1000 <= *since / 1000;
  }
  return false;
}

void serve_asset(const httplib::Request& req, httplib::Response& res, const Services& services) {
  std::optional<std::string_view> token;
  std::string token_value = req.get_header_value("ota-asset-token");
  if (token_value.empty() && req.has_param("token")) token_value = req.get_param_value("token");
  if (!token_value.empty()) token = token_value;
  auto found = services.expo->asset(req.matches[1].str(), req.matches[2].str(), token);
  if (!found) {
    send_error(res, found.error(), current_request().id);
    return;
  }
  const expo::ServedAsset& asset = **found;
  res.set_header("ETag", asset.etag);
  res.set_header("Last-Modified", asset.last_modified);
  res.set_header("Cache-Control", "public, max-age=31536000, immutable");
  res.set_header("Accept-Ranges", "bytes");
  res.set_header("Vary", "Accept-Encoding");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (asset.content_type == "text/html" || asset.content_type == "image/svg+xml") {
    // Uploaded content must never run as a page in this origin.
    res.set_header("Content-Security-Policy", "sandbox; default-src 'none'");
    res.set_header("Content-Disposition", "attachment");
  }
  if (not_modified(req, asset)) {
    res.status = 304;
    return;
  }
  const uint64_t size = asset.identity->size();
  RangeRequest range = parse_range(req.get_header_value("Range"), size);
  if (range.kind == RangeKind::kUnsatisfiable) {
    res.status = 416;
    res.set_header("Content-Range", "bytes */" + std::to_string(size));
    return;
  }
  if (range.kind == RangeKind::kSingle) {
    // Ranges address the identity bytes and are never encoded.
    uint64_t length = range.range.last - range.range.first + 1;
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(range.range.first) + "-" +
                                        std::to_string(range.range.last) + "/" + std::to_string(size));
    stream_buffer(res, asset.identity, range.range.first, length, asset.content_type);
    if (range.range.first == 0) note_download(req, services);
    return;
  }
  auto coding = choose_coding(req.get_header_value("Accept-Encoding"), asset.gzip != nullptr, asset.br != nullptr);
  if (!coding) {
    send_error(res, 406, "not_acceptable", "no acceptable content coding: the asset is available as identity" +
                                               std::string(asset.br ? ", br" : "") + (asset.gzip ? ", gzip" : ""));
    return;
  }
  std::shared_ptr<const std::string> bytes = asset.identity;
  if (*coding == Coding::kBr) {
    bytes = asset.br;
    res.set_header("Content-Encoding", "br");
  } else if (*coding == Coding::kGzip) {
    bytes = asset.gzip;
    res.set_header("Content-Encoding", "gzip");
  }
  stream_buffer(res, bytes, 0, bytes->size(), asset.content_type);
  note_download(req, services);
}

void method_not_allowed(const httplib::Request& req, httplib::Response& res) {
  res.set_header("Allow", "GET, HEAD");
  send_error(res, 405, "method_not_allowed", req.method + " is not allowed here; use GET");
}

}  // namespace

void install_expo_routes(httplib::Server& svr, const Services& services) {
  std::string manifest = std::string("/apps/") + kAppPattern + "/manifest";
  std::string assets = std::string("/apps/") + kAppPattern + "/assets/([A-Za-z0-9_-]{1,128})";
  svr.Get(manifest, [&services](const httplib::Request& req, httplib::Response& res) {
    serve_manifest(req, res, services);
  });
  svr.Post(manifest, method_not_allowed);
  svr.Put(manifest, method_not_allowed);
  svr.Delete(manifest, method_not_allowed);
  svr.Patch(manifest, method_not_allowed);
  svr.Get(assets, [&services](const httplib::Request& req, httplib::Response& res) { serve_asset(req, res, services); });
  svr.Post(assets, method_not_allowed);
  svr.Put(assets, method_not_allowed);
  svr.Delete(assets, method_not_allowed);
}

}  // namespace ota::http
