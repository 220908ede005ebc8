// IP addresses and CIDR ranges (common/net.cpp): the trusted_proxies setting and every
// X-Forwarded-For entry go through IpAddress::parse. Properties: canonical text round-trips
// (parse(to_string(x)) == x and to_string is a fixed point), a network contains its own address
// and only addresses of its family, and a parsed set prints back to a set that parses the same.

#include <string>

#include "common/net.h"
#include "fuzz_support.h"

namespace {

using ota::fuzz::as_view;
using ota::net::Cidr;
using ota::net::CidrSet;
using ota::net::IpAddress;

void check_address(std::string_view text) {
  auto a = IpAddress::parse(text);
  if (!a) return;
  // No port, brackets, zone or whitespace ever gets through.
  FUZZ_CHECK(text.find_first_of("[]% \t/") == std::string_view::npos);
  const std::string canonical = a->to_string();
  auto again = IpAddress::parse(canonical);
  FUZZ_CHECK(again && *again == *a);
  FUZZ_CHECK(again->to_string() == canonical);
  if (!a->v6) FUZZ_CHECK(canonical.find(':') == std::string::npos);
}

void check_cidr(std::string_view text) {
  auto c = Cidr::parse(text);
  if (!c) return;
  FUZZ_CHECK(c->prefix_length <= c->network.bit_length());
  FUZZ_CHECK(c->contains(c->network));
  auto again = Cidr::parse(c->to_string());
  FUZZ_CHECK(again && again->network == c->network && again->prefix_length == c->prefix_length);
  // An address of the other family is never inside, even under /0.
  IpAddress other;
  other.v6 = !c->network.v6;
  FUZZ_CHECK(!c->contains(other));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = as_view(data, size);
  check_address(in);
  check_cidr(in);
  if (auto set = CidrSet::parse(in)) {
    const std::string canonical = set->to_string();
    auto again = CidrSet::parse(canonical);
    FUZZ_CHECK(again && again->to_string() == canonical);
    // Every entry of the set is matched by the set.
    for (std::string_view rest = canonical; !rest.empty();) {
      const size_t comma = rest.find(',');
      auto c = Cidr::parse(rest.substr(0, comma));
      FUZZ_CHECK(c && set->contains(c->network));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return 0;
}
