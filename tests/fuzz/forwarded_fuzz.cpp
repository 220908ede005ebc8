// X-Forwarded-For behind trusted proxies (http/forwarded.cpp): which address the access log, the
// audit log and sessions record. Input: the TCP peer ("ip port") on the first line, then one
// X-Forwarded-For header line per line (the trusted proxies are fixed). Properties, checked
// against a straightforward reference walk:
//   - an untrusted peer is always answered with itself (nothing it sends is believed);
//   - a forwarded answer is the rightmost untrusted entry (or, all trusted, the leftmost), in
//     canonical form, and every entry right of it parses and is trusted;
//   - any malformed entry on that walk falls back to the TCP peer.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "common/strings.h"
#include "fuzz_support.h"
#include "http/forwarded.h"

namespace {

using ota::net::CidrSet;
using ota::net::IpAddress;

const CidrSet& trusted() {
  static const CidrSet set = *CidrSet::parse("10.0.0.0/8, 127.0.0.1/32, ::1/128, 2001:db8::/32, 192.168.7.7");
  return set;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = ota::fuzz::fields(ota::fuzz::as_view(data, size), 2);
  const size_t space = f[0].rfind(' ');
  const std::string peer(f[0].substr(0, space));
  const int port =
      space == std::string_view::npos
          ? 0
          : static_cast<int>(std::min<uint64_t>(ota::parse_uint(f[0].substr(space + 1)).value_or(0), 65535));
  std::vector<std::string> lines;
  if (!f[1].empty()) {
    for (std::string_view line : ota::split(f[1], '\n')) lines.emplace_back(line);
  }

  const ota::http::ClientAddress got = ota::http::client_address(peer, port, lines, trusted());
  const std::string direct = peer + ":" + std::to_string(port);

  auto peer_ip = IpAddress::parse(peer);
  if (!peer_ip || !trusted().contains(*peer_ip) || lines.empty()) {
    FUZZ_CHECK(!got.forwarded && got.text == direct);
    return 0;
  }

  // Reference: all entries left to right, then walk from the right.
  std::vector<std::string_view> entries;
  for (std::string_view line : lines) {
    size_t start = 0;
    while (true) {
      size_t comma = line.find(',', start);
      entries.push_back(trim_spaces(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  std::optional<IpAddress> expected;
  bool malformed = false;
  for (size_t i = entries.size(); i-- > 0;) {
    auto a = IpAddress::parse(entries[i]);
    if (!a) {
      malformed = true;
      break;
    }
    expected = a;
    if (!trusted().contains(*a)) break;
  }
  if (malformed || !expected) {
    FUZZ_CHECK(!got.forwarded && got.text == direct);
  } else {
    FUZZ_CHECK(got.forwarded && got.text == expected->to_string());
  }
  return 0;
}
