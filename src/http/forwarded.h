// Who a request is from when reverse proxies may stand in between: the address the access log,
// the audit log and sessions record. Pure (no httplib types), so it is unit-tested directly.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "common/net.h"

namespace ota::http {

struct ClientAddress {
  std::string text;        // "203.0.113.7" (forwarded) or "127.0.0.1:50432" (the TCP peer, with its port)
  bool forwarded = false;  // taken from X-Forwarded-For
};

// The TCP peer ("ip:port", as before trusted proxies existed), unless that peer is in `trusted`:
// then X-Forwarded-For (`forwarded_for`: each header line in the order received, comma-separated
// entries) is walked from the right, skipping addresses that are themselves trusted proxies,
// and the first untrusted address is the client; if every entry is trusted, the leftmost.
// Entries left of the answer are never looked at: anyone can put anything there. A malformed
// entry on the way (a port, brackets, "unknown", a name), or no entries at all, means the proxy
// chain cannot be believed, and the TCP peer is returned.
ClientAddress client_address(std::string_view peer_ip, int peer_port, std::span<const std::string> forwarded_for,
                             const net::CidrSet& trusted);

}  // namespace ota::http
