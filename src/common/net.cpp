#include "common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <cstring>

#include "common/strings.h"

namespace ota::net {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Leaves the first `prefix_length` bits of `address` and zeroes the rest.
IpAddress masked(IpAddress address, size_t prefix_length) {
  for (size_t i = 0; i < address.bytes.size(); ++i) {
    const size_t bit = i * 8;
    if (bit >= prefix_length) {
      address.bytes[i] = 0;
    } else if (prefix_length - bit < 8) {
      address.bytes[i] &= static_cast<uint8_t>(0xff << (8 - (prefix_length - bit)));
    }
  }
  return address;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a terminated string; the longest IPv6 text (with an embedded IPv4) is 45.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  // inet_pton stops at a NUL, so "203.0.113.9\0junk" would read as 203.0.113.9 (found by
  // tests/fuzz/net_fuzz): the whole text must be the address.
  if (text.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress out;
  if (text.find(':') == std::string_view::npos) {
    if (::inet_pton(AF_INET, buf, out.bytes.data()) != 1) return std::nullopt;
    return out;
  }
  if (::inet_pton(AF_INET6, buf, out.bytes.data()) != 1) return std::nullopt;
  if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), out.bytes.begin())) {
    std::array<uint8_t, 16> v4{};
    std::copy(out.bytes.begin() + 12, out.bytes.end(), v4.begin());
    out.bytes = v4;
    return out;
  }
  out.v6 = true;
  return out;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  const std::string quoted = "\"" + std::string(text.substr(0, 64)) + "\"";
  const size_t slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) {
    return invalid_argument(quoted +
                            " is not an IP network; write an IPv4 or IPv6 address with an optional "
                            "prefix length, e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32");
  }
  Cidr cidr{*address, address->bit_length()};
  if (slash != std::string_view::npos) {
    auto length = parse_uint(text.substr(slash + 1));
    if (!length || *length > address->bit_length()) {
      return invalid_argument(quoted + " has a bad prefix length; after the '/' write 0 to " +
                              std::to_string(address->bit_length()));
    }
    cidr.prefix_length = static_cast<size_t>(*length);
  }
  IpAddress network = masked(*address, cidr.prefix_length);
  if (network != *address) {
    return invalid_argument(quoted + " has bits set after its /" + std::to_string(cidr.prefix_length) +
                            " prefix; write " + network.to_string() + "/" + std::to_string(cidr.prefix_length) +
                            " for the whole network, or " + address->to_string() + "/" +
                            std::to_string(address->bit_length()) + " for the one host");
  }
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
  return address.v6 == network.v6 && masked(address, prefix_length) == network;
}

std::string Cidr::to_string() const { return network.to_string() + "/" + std::to_string(prefix_length); }

Result<CidrSet> CidrSet::parse(std::string_view comma_separated) {
  CidrSet set;
  if (trim_spaces(comma_separated).empty()) return set;
  for (std::string_view rest = comma_separated; true;) {
    const size_t comma = rest.find(',');
    std::string_view entry = trim_spaces(rest.substr(0, comma));
    if (entry.empty()) return invalid_argument("an empty entry (two commas in a row, or a trailing comma)");
    OTA_ASSIGN_OR_RETURN(Cidr cidr, Cidr::parse(entry));
    set.ranges_.push_back(cidr);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return set;
}

bool CidrSet::contains(const IpAddress& address) const {
  for (const Cidr& range : ranges_) {
    if (range.contains(address)) return true;
  }
  return false;
}

std::string CidrSet::to_string() const {
  std::string out;
  for (const Cidr& range : ranges_) out += (out.empty() ? "" : ",") + range.to_string();
  return out;
}

}  // namespace ota::net
