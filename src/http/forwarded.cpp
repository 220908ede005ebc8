#include "http/forwarded.h"

#include <optional>
#include <vector>

namespace ota::http {
namespace {

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Every comma-separated entry of every header line, left to right.
std::vector<std::string_view> split_entries(std::span<const std::string> lines) {
  std::vector<std::string_view> entries;
  for (std::string_view rest : lines) {
    while (true) {
      const size_t comma = rest.find(',');
      entries.push_back(trim_spaces(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return entries;
}

std::optional<net::IpAddress> walk_from_right(std::span<const std::string_view> entries, const net::CidrSet& trusted) {
  std::optional<net::IpAddress> leftmost;
  for (size_t i = entries.size(); i-- > 0;) {
    auto address = net::IpAddress::parse(entries[i]);
    if (!address) return std::nullopt;
    if (!trusted.contains(*address)) return address;
    leftmost = address;
  }
  return leftmost;
}

}  // namespace

ClientAddress client_address(std::string_view peer_ip, int peer_port, std::span<const std::string> forwarded_for,
                             const net::CidrSet& trusted) {
  ClientAddress direct{std::string(peer_ip) + ":" + std::to_string(peer_port), false};
  if (trusted.empty() || forwarded_for.empty()) return direct;
  auto peer = net::IpAddress::parse(peer_ip);
  if (!peer || !trusted.contains(*peer)) return direct;
  const std::vector<std::string_view> entries = split_entries(forwarded_for);
  auto client = walk_from_right(entries, trusted);
  if (!client) return direct;
  return {client->to_string(), true};
}

}  // namespace ota::http
