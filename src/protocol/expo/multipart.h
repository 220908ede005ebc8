// multipart/mixed bodies exactly as expo-updates-protocol.md §2.4 lays them out, byte for byte
// (checklist 34-46): no preamble, lower-case part headers, CRLF before every delimiter, and the
// close delimiter followed by CRLF.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace ota::expo {

struct Part {
  std::string_view name;          // content-disposition: form-data; name="<name>"
  std::string_view content_type;  // e.g. "application/json"
  std::string_view signature;     // the expo-signature header value; empty for none
  std::string_view body;          // verbatim; this is what a signature covers
};

struct MultipartBody {
  std::string boundary;
  std::string body;
  // "multipart/mixed; boundary=<boundary>"
  std::string content_type() const { return "multipart/mixed; boundary=" + boundary; }
};

// Builds the body. `boundary_seed` supplies randomness: the boundary is "ota-" followed by at
// least 16 characters from [A-Za-z0-9] derived from it, re-derived until "\r\n--<boundary>"
// occurs in no part body. With no parts the body is empty (a 200 no-op; never just "--B--").
MultipartBody build_multipart(std::span<const Part> parts, std::string_view boundary_seed);

// The expo-signature value: sig="<base64>", keyid="<keyid>", alg="rsa-v1_5-sha256".
std::string signature_header(std::string_view signature_base64, std::string_view keyid);

}  // namespace ota::expo
