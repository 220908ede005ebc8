#include "protocol/expo/multipart.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocol/expo/sfv.h"

namespace ota::expo {
namespace {

struct ParsedPart {
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as written
  std::string body;
};

bool boundary_char_ok(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool token_char_ok(char c) {
  return c > 0x20 && c < 0x7f && c != ':' && c != '(' && c != ')' && c != '<' && c != '>' && c != '@' && c != ',' &&
         c != ';' && c != '\\' && c != '"' && c != '/' && c != '[' && c != ']' && c != '?' && c != '=' && c != '{' &&
         c != '}';
}

// A strict RFC 2046 §5.1.1 reader with the extra rules of expo-updates-protocol.md §2.4: no
// preamble, no transport padding after delimiters, close delimiter followed by exactly CRLF and
// nothing after it (no epilogue). Returns nullopt and records why on any deviation.
std::optional<std::vector<ParsedPart>> strict_parse(std::string_view body, std::string_view boundary,
                                                    std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<std::vector<ParsedPart>> {
    *why = std::move(reason);
    return std::nullopt;
  };
  if (boundary.empty() || boundary.size() > 70) return fail("boundary length");
  for (char c : boundary) {
    if (!boundary_char_ok(c)) return fail("boundary character");
  }
  const std::string first = "--" + std::string(boundary) + "\r\n";
  const std::string delimiter = "\r\n--" + std::string(boundary);
  if (body.substr(0, first.size()) != first) return fail("does not start with --B CRLF");
  size_t pos = first.size();
  std::vector<ParsedPart> parts;
  while (true) {
    ParsedPart part;
    // Header lines up to the blank line.
    while (true) {
      size_t eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos) return fail("unterminated header line");
      std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return fail("header line without name");
      for (char c : line.substr(0, colon)) {
        if (!token_char_ok(c)) return fail("bad header name character");
      }
      std::string_view value = line.substr(colon + 1);
      if (value.empty() || value[0] != ' ') return fail("header value not after ': '");
      if (line.find('\r') != std::string_view::npos || line.find('\n') != std::string_view::npos) {
        return fail("bare CR or LF in header");
      }
      part.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value.substr(1)));
    }
    size_t end = body.find(delimiter, pos);
    if (end == std::string_view::npos) return fail("no delimiter after part body");
    part.body = std::string(body.substr(pos, end - pos));
    parts.push_back(std::move(part));
    pos = end + delimiter.size();
    std::string_view rest = body.substr(pos);
    if (rest.substr(0, 2) == "\r\n") {
      pos += 2;
      continue;
    }
    if (rest == "--\r\n") return parts;
    return fail("delimiter followed by neither CRLF nor --CRLF (padding, epilogue or missing CRLF)");
  }
}

std::vector<ParsedPart> parse_ok(const MultipartBody& m) {
  std::string why;
  auto parts = strict_parse(m.body, m.boundary, &why);
  EXPECT_TRUE(parts.has_value()) << why;
  return parts.value_or(std::vector<ParsedPart>{});
}

std::string header(const ParsedPart& p, std::string_view name) {
  for (const auto& [n, v] : p.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

const std::string kManifest = R"({"id":"0f3c6f2e-3b3e-4a6b-9d1a-6a0b7b2c1d4e","runtimeVersion":"1.0.0"})";
const std::string kExtensions = R"({"assetRequestHeaders":{}})";

TEST(Multipart, LayoutIsByteExact) {  // checklist 35, 36, expo-updates-protocol.md §2.4
  const std::string sig = signature_header("kq3Zw==", "main");
  Part parts[] = {
      {"manifest", "application/json; charset=utf-8", sig, kManifest},
      {"extensions", "application/json", "", kExtensions},
  };
  MultipartBody m = build_multipart(parts, "seed");
  const std::string& b = m.boundary;
  std::string expected = "--" + b + "\r\n" +
                         "content-disposition: form-data; name=\"manifest\"\r\n"
                         "content-type: application/json; charset=utf-8\r\n"
                         "expo-signature: sig=\"kq3Zw==\", keyid=\"main\", alg=\"rsa-v1_5-sha256\"\r\n"
                         "\r\n" +
                         kManifest + "\r\n--" + b + "\r\n" +
                         "content-disposition: form-data; name=\"extensions\"\r\n"
                         "content-type: application/json\r\n"
                         "\r\n" +
                         kExtensions + "\r\n--" + b + "--\r\n";
  EXPECT_EQ(m.body, expected);
  EXPECT_EQ(m.content_type(), "multipart/mixed; boundary=" + b);
}

TEST(Multipart, StrictParserRecoversPartsAndBodiesByteForByte) {  // checklist 43
  std::string binary;
  for (int c = 0; c < 256; ++c) binary.push_back(static_cast<char>(c));
  const std::string crlf_heavy = "\r\n\r\n--\r\n-- \r\n--x--\r\n";
  const std::string sig = signature_header("c2lnbmF0dXJl", "root");
  Part parts[] = {
      {"manifest", "application/json", sig, kManifest},
      {"directive", "application/expo+json", sig, R"({"type":"noUpdateAvailable"})"},
      {"extensions", "application/json", "", kExtensions},
      {"certificate_chain", "application/x-pem-file", "",
       "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
      {"empty", "application/json", "", ""},
      {"binary", "application/octet-stream", "", binary},
      {"crlf", "text/plain", "", crlf_heavy},
  };
  MultipartBody m = build_multipart(parts, "another seed");
  auto parsed = parse_ok(m);
  ASSERT_EQ(parsed.size(), std::size(parts));
  for (size_t i = 0; i < parsed.size(); ++i) {
    EXPECT_EQ(parsed[i].body, parts[i].body) << i;
    EXPECT_EQ(header(parsed[i], "content-disposition"), "form-data; name=\"" + std::string(parts[i].name) + "\"");
    EXPECT_EQ(header(parsed[i], "content-type"), parts[i].content_type);
    if (parts[i].signature.empty()) {
      EXPECT_EQ(header(parsed[i], "expo-signature"), "<absent>");
      EXPECT_EQ(parsed[i].headers.size(), 2u);
    } else {
      EXPECT_EQ(header(parsed[i], "expo-signature"), parts[i].signature);
      EXPECT_EQ(parsed[i].headers.size(), 3u);
    }
  }
}

TEST(Multipart, PartHeadersAreLowerCaseWrittenOnceInOrder) {  // checklist 39, §2.4 rule 5
  Part parts[] = {{"manifest", "application/json", "sig=\"x\"", kManifest}};
  auto parsed = parse_ok(build_multipart(parts, "s"));
  ASSERT_EQ(parsed.size(), 1u);
  ASSERT_EQ(parsed[0].headers.size(), 3u);
  EXPECT_EQ(parsed[0].headers[0].first, "content-disposition");
  EXPECT_EQ(parsed[0].headers[1].first, "content-type");
  EXPECT_EQ(parsed[0].headers[2].first, "expo-signature");
  for (const auto& [name, value] : parsed[0].headers) {
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
}

TEST(Multipart, StartsWithDelimiterAndEndsWithCloseDelimiterAndCrlf) {  // checklist 35, 36
  for (size_t n = 1; n <= 3; ++n) {
    std::vector<Part> parts(n, Part{"manifest", "application/json", "", kManifest});
    MultipartBody m = build_multipart(parts, "seed" + std::to_string(n));
    EXPECT_EQ(m.body.substr(0, m.boundary.size() + 4), "--" + m.boundary + "\r\n");
    EXPECT_TRUE(ends_with(m.body, "\r\n--" + m.boundary + "--\r\n"));
    EXPECT_EQ(parse_ok(m).size(), n);
  }
}

TEST(Multipart, BoundaryIsOtaPlusAtLeastSixteenAlphanumerics) {  // checklist 34
  for (int i = 0; i < 200; ++i) {
    Part parts[] = {{"manifest", "application/json", "", kManifest}};
    MultipartBody m = build_multipart(parts, "seed-" + std::to_string(i));
    const std::string& b = m.boundary;
    ASSERT_GE(b.size(), 20u);
    ASSERT_LE(b.size(), 70u);
    EXPECT_EQ(b.substr(0, 4), "ota-");
    for (char c : b.substr(4)) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) << b;
    }
  }
}

TEST(Multipart, BoundaryIsDeterministicInTheSeedAndVariesWithIt) {
  Part parts[] = {{"manifest", "application/json", "", kManifest}};
  EXPECT_EQ(build_multipart(parts, "abc").boundary, build_multipart(parts, "abc").boundary);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(build_multipart(parts, std::to_string(i)).boundary);
  EXPECT_EQ(seen.size(), 1000u);
  // Raw random bytes make fine seeds too.
  std::string raw = {'\0', '\xff', '\x01'};
  EXPECT_NE(build_multipart(parts, raw).boundary, build_multipart(parts, "").boundary);
}

TEST(Multipart, BodyContainingTheFirstCandidateForcesAnotherBoundary) {  // checklist 37
  const std::string seed = "collide";
  Part plain[] = {{"manifest", "application/json", "", kManifest}};
  const std::string first = build_multipart(plain, seed).boundary;

  const std::string hostile = "{\"x\":\"\r\n--" + first + "\r\n\"}";
  Part parts[] = {{"manifest", "application/json", "", hostile}};
  MultipartBody m = build_multipart(parts, seed);
  EXPECT_NE(m.boundary, first);
  auto parsed = parse_ok(m);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].body, hostile);

  // And again when the second candidate is in another part as well.
  const std::string second = m.boundary;
  const std::string second_close = "--" + second + "--";
  Part both[] = {{"manifest", "application/json", "", hostile}, {"extensions", "application/json", "", second_close}};
  MultipartBody m2 = build_multipart(both, seed);
  EXPECT_NE(m2.boundary, first);
  EXPECT_NE(m2.boundary, second);
  auto parsed2 = parse_ok(m2);
  ASSERT_EQ(parsed2.size(), 2u);
  EXPECT_EQ(parsed2[0].body, hostile);
  EXPECT_EQ(parsed2[1].body, second_close);
}

TEST(Multipart, BoundaryNeverAppearsWithoutLeadingCrlfEither) {
  // iOS scans for the literal bytes "--B\r\n", so even a body starting with them is avoided.
  const std::string seed = "ios";
  Part plain[] = {{"manifest", "application/json", "", kManifest}};
  const std::string first = build_multipart(plain, seed).boundary;
  const std::string body = "--" + first + "\r\n";
  Part parts[] = {{"manifest", "application/json", "", body}};
  MultipartBody m = build_multipart(parts, seed);
  EXPECT_NE(m.boundary, first);
  EXPECT_EQ(m.body.find("--" + m.boundary + "\r\n", 1), std::string::npos);  // only the opening one
  auto parsed = parse_ok(m);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].body, body);
}

TEST(Multipart, NoBodyContainsTheDelimiter) {  // checklist 37
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 100; ++i) {
    std::string body(static_cast<size_t>(i * 7), '\0');
    for (char& c : body) c = static_cast<char>(byte(rng));
    Part parts[] = {{"manifest", "application/json", "", body}, {"extensions", "application/json", "", body}};
    MultipartBody m = build_multipart(parts, std::to_string(i));
    EXPECT_EQ(body.find("\r\n--" + m.boundary), std::string::npos);
    auto parsed = parse_ok(m);
    ASSERT_EQ(parsed.size(), 2u);
    EXPECT_EQ(parsed[0].body, body);
    EXPECT_EQ(parsed[1].body, body);
  }
}

TEST(Multipart, ZeroPartsIsAnEmptyBodyNeverJustTheCloseDelimiter) {  // checklist 44, 46
  MultipartBody m = build_multipart({}, "seed");
  EXPECT_TRUE(m.body.empty());
  EXPECT_EQ(m.content_type(), "multipart/mixed; boundary=" + m.boundary);
  EXPECT_EQ(m.boundary.substr(0, 4), "ota-");
}

TEST(Multipart, BodyEndingInCrlfKeepsItsCrlf) {
  Part parts[] = {{"manifest", "application/json", "", "{}\r\n"}};
  MultipartBody m = build_multipart(parts, "s");
  EXPECT_TRUE(ends_with(m.body, "{}\r\n\r\n--" + m.boundary + "--\r\n"));
  auto parsed = parse_ok(m);
  ASSERT_EQ(parsed.size(), 1u);
  EXPECT_EQ(parsed[0].body, "{}\r\n");
}

TEST(SignatureHeader, ExactFormat) {  // §4.3
  EXPECT_EQ(signature_header("abc+/==", "main"), R"(sig="abc+/==", keyid="main", alg="rsa-v1_5-sha256")");
}

TEST(SignatureHeader, ParsesAsDictionaryOfStrings) {  // checklist 81, 82
  auto d = sfv::parse_dictionary(signature_header("QUJD", "root"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 3u);
  for (const auto& [key, item] : *d) EXPECT_EQ(item.kind, sfv::Item::Kind::kString) << key;
  EXPECT_EQ(sfv::find(*d, "sig")->text, "QUJD");
  EXPECT_EQ(sfv::find(*d, "keyid")->text, "root");
  EXPECT_EQ(sfv::find(*d, "alg")->text, "rsa-v1_5-sha256");
}

TEST(SignatureHeader, KeyidIsEscapedSoTheHeaderStaysWellFormed) {
  std::string h = signature_header("QUJD", R"(we"ird\id)");
  auto d = sfv::parse_dictionary(h);
  ASSERT_TRUE(d) << h;
  EXPECT_EQ(sfv::find(*d, "keyid")->text, R"(we"ird\id)");
  auto ctl = sfv::parse_dictionary(signature_header("QUJD", "a\r\nb"));
  ASSERT_TRUE(ctl);
  EXPECT_EQ(sfv::find(*ctl, "keyid")->text, "ab");
}

TEST(StrictParser, RejectsWhatTheSpecForbids) {
  // The test's own parser must be strict, or the round-trip tests prove nothing.
  std::string why;
  EXPECT_FALSE(strict_parse("preamble\r\n--B\r\na: b\r\n\r\nx\r\n--B--\r\n", "B", &why));
  EXPECT_FALSE(strict_parse("--B\r\na: b\r\n\r\nx\r\n--B--", "B", &why));         // no final CRLF
  EXPECT_FALSE(strict_parse("--B\r\na: b\r\n\r\nx\r\n--B--\r\nepi", "B", &why));  // epilogue
  EXPECT_FALSE(strict_parse("--B \r\na: b\r\n\r\nx\r\n--B--\r\n", "B", &why));    // padding
  EXPECT_FALSE(strict_parse("--B--\r\n", "B", &why));
  EXPECT_FALSE(strict_parse("--B\r\na: b\r\n\r\nx\r\n--B--\r\n", "B_", &why));
  EXPECT_FALSE(strict_parse("--B\r\na:b\r\n\r\nx\r\n--B--\r\n", "B", &why));
  auto ok = strict_parse("--B\r\na: b\r\n\r\nx\r\n--B--\r\n", "B", &why);
  ASSERT_TRUE(ok) << why;
  EXPECT_EQ((*ok)[0].body, "x");
}

}  // namespace
}  // namespace ota::expo
