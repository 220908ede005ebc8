#include "protocol/expo/multipart.h"

#include <cstdint>

namespace ota::expo {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr size_t kBoundaryRandomChars = 24;  // 24 base-62 characters: ~143 bits

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Not cryptographic on purpose: the seed carries the randomness; this only spreads it over an
// alphabet that is safe in a boundary, and differs for each attempt.
std::string derive_boundary(std::string_view seed, uint64_t attempt) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  uint64_t state = fnv1a(seed) ^ (attempt * 0xd1342543de82ef95ULL);
  std::string b = "ota-";
  uint64_t bits = 0;
  int left = 0;
  for (size_t i = 0; i < kBoundaryRandomChars; ++i) {
    if (left == 0) {
      bits = splitmix64(state);
      left = 10;  // 10 draws of 6 bits from one 64-bit value
    }
    b.push_back(kAlphabet[(bits & 63) % kAlphabet.size()]);
    bits >>= 6;
    --left;
  }
  return b;
}

// Stricter than RFC 2046 needs ("\r\n--B" must not occur in a body): "--B" must occur nowhere in
// a part, because iOS scans for the literal bytes "--B\r\n".
bool boundary_is_free(std::span<const Part> parts, std::string_view boundary) {
  std::string needle = "--" + std::string(boundary);
  for (const Part& p : parts) {
    for (std::string_view field : {p.name, p.content_type, p.signature, p.body}) {
      if (field.find(needle) != std::string_view::npos) return false;
    }
  }
  return true;
}

}  // namespace

MultipartBody build_multipart(std::span<const Part> parts, std::string_view boundary_seed) {
  MultipartBody out;
  // Terminates: each attempt yields a fresh boundary and the parts can only contain finitely many.
  for (uint64_t attempt = 0;; ++attempt) {
    out.boundary = derive_boundary(boundary_seed, attempt);
    if (boundary_is_free(parts, out.boundary)) break;
  }
  if (parts.empty()) return out;

  const std::string_view b = out.boundary;
  size_t size = 0;
  for (const Part& p : parts) {
    size += 2 + b.size() + 2;                                       // --B CRLF
    size += 39 + p.name.size() + 2;                                 // disposition
    size += 14 + p.content_type.size() + 2;                         // content-type
    if (!p.signature.empty()) size += 16 + p.signature.size() + 2;  // expo-signature
    size += 2 + p.body.size() + 2;                                  // CRLF body CRLF
  }
  size += 2 + b.size() + 2 + 2;  // --B-- CRLF
  out.body.reserve(size);

  std::string& s = out.body;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    if (i > 0) s += kCrlf;  // the CRLF before a delimiter belongs to the delimiter
    s += "--";
    s += b;
    s += kCrlf;
    s += "content-disposition: form-data; name=\"";
    s += p.name;
    s += "\"";
    s += kCrlf;
    s += "content-type: ";
    s += p.content_type;
    s += kCrlf;
    if (!p.signature.empty()) {
      s += "expo-signature: ";
      s += p.signature;
      s += kCrlf;
    }
    s += kCrlf;
    s += p.body;
  }
  s += kCrlf;
  s += "--";
  s += b;
  s += "--";
  s += kCrlf;
  return out;
}

std::string signature_header(std::string_view signature_base64, std::string_view keyid) {
  // Both are sf-strings. Base64 needs no escaping; a key id might, and bytes an sf-string cannot
  // carry are dropped (key ids are validated when keys are configured; this keeps the header
  // well formed regardless).
  std::string out = "sig=\"";
  out += signature_base64;
  out += "\", keyid=\"";
  for (char c : keyid) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) continue;
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out += "\", alg=\"rsa-v1_5-sha256\"";
  return out;
}

}  // namespace ota::expo
