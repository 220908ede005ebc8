// IP addresses and CIDR ranges as values: parsing, canonical text and matching, with no I/O.
// Used for the trusted_proxies setting; lives in common/ because app/ checks the setting at
// startup and http/ matches peers per request, and neither should own the other's parser.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ota::net {

// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:192.0.2.1, what a dual-stack
// socket reports for IPv4 clients) are stored as IPv4, so one rule matches however the kernel
// spells the peer.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  // Plain dotted-quad IPv4 or RFC 4291 IPv6 text, nothing around it: no port, brackets, zone or
  // whitespace. nullopt for anything else.
  static std::optional<IpAddress> parse(std::string_view text);
  std::string to_string() const;  // canonical: "192.0.2.1", "2001:db8::1"
  size_t bit_length() const { return v6 ? 128 : 32; }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// A network: an address whose bits after `prefix_length` are zero.
struct Cidr {
  IpAddress network;
  size_t prefix_length = 0;

  // "10.0.0.0/8", "2001:db8::/32", or a bare address (a single host: /32 or /128).
  // kInvalidArgument saying what is wrong; bits set after the prefix are refused (with the
  // network it would mean) because "10.0.0.5/8" trusting 16 million hosts is rarely intended.
  static Result<Cidr> parse(std::string_view text);
  bool contains(const IpAddress& address) const;
  std::string to_string() const;
};

// A list of networks, e.g. the reverse proxies whose X-Forwarded-For is believed. Immutable
// after parse, so it may be shared between threads.
class CidrSet {
 public:
  // Comma-separated ranges, spaces allowed around each; "" is the empty set. The error names
  // the first bad entry.
  static Result<CidrSet> parse(std::string_view comma_separated);

  bool contains(const IpAddress& address) const;
  bool empty() const { return ranges_.empty(); }
  std::string to_string() const;  // canonical, comma-separated

 private:
  std::vector<Cidr> ranges_;
};

}  // namespace ota::net
