#include "http/forwarded.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ota::http {
namespace {

net::CidrSet trusted(const std::string& text) {
  auto set = net::CidrSet::parse(text);
  EXPECT_TRUE(set) << text;
  return set ? *set : net::CidrSet{};
}

// The client for a request from 127.0.0.1:5000 with these X-Forwarded-For lines.
ClientAddress from_local_proxy(std::vector<std::string> xff, const std::string& trust = "127.0.0.1/32") {
  return client_address("127.0.0.1", 5000, xff, trusted(trust));
}

TEST(ForwardedTest, WithoutTrustedProxiesTheHeaderIsIgnored) {
  auto c = client_address("127.0.0.1", 5000, std::vector<std::string>{"203.0.113.7"}, trusted(""));
  EXPECT_EQ(c.text, "127.0.0.1:5000");
  EXPECT_FALSE(c.forwarded);
}

TEST(ForwardedTest, AnUntrustedPeerIsTheClientWhateverItClaims) {
  auto c = client_address("198.51.100.9", 4000, std::vector<std::string>{"203.0.113.7"}, trusted("127.0.0.1/32"));
  EXPECT_EQ(c.text, "198.51.100.9:4000");
  EXPECT_FALSE(c.forwarded);
}

TEST(ForwardedTest, ATrustedPeerForwardsTheClient) {
  auto c = from_local_proxy({"203.0.113.7"});
  EXPECT_EQ(c.text, "203.0.113.7");
  EXPECT_TRUE(c.forwarded);
}

TEST(ForwardedTest, TheRightmostUntrustedEntryWinsOverSpoofedOnesToItsLeft) {
  // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the address it saw.
  EXPECT_EQ(from_local_proxy({"1.2.3.4, 203.0.113.7"}).text, "203.0.113.7");
  // Garbage to the left of the answer is never looked at.
  EXPECT_EQ(from_local_proxy({"<script>, unknown, 203.0.113.7"}).text, "203.0.113.7");
}

TEST(ForwardedTest, TrustedHopsAreSkippedFromTheRight) {
  // client -> CDN edge (10.0.0.0/8) -> local proxy -> us
  EXPECT_EQ(from_local_proxy({"1.2.3.4, 203.0.113.7, 10.1.1.1"}, "127.0.0.1/32,10.0.0.0/8").text, "203.0.113.7");
  EXPECT_EQ(from_local_proxy({"1.2.3.4, 203.0.113.7, 10.1.1.1"}).text, "10.1.1.1");
}

TEST(ForwardedTest, AllTrustedMeansTheLeftmost) {
  auto c = from_local_proxy({"10.0.0.1, 10.0.0.2"}, "127.0.0.1/32,10.0.0.0/8");
  EXPECT_EQ(c.text, "10.0.0.1");
  EXPECT_TRUE(c.forwarded);
}

TEST(ForwardedTest, SeveralHeaderLinesAreOneListInOrder) {
  EXPECT_EQ(from_local_proxy({"1.2.3.4", "203.0.113.7"}).text, "203.0.113.7");
  EXPECT_EQ(from_local_proxy({"203.0.113.7", "10.9.9.9"}, "127.0.0.1,10.0.0.0/8").text, "203.0.113.7");
}

TEST(ForwardedTest, AMalformedEntryOnTheWayFallsBackToThePeer) {
  for (std::string bad : {"203.0.113.7:443", "[2001:db8::1]", "unknown", "example.com", "", " ", "1.2.3.4,",
                          "203.0.113.7,,", "203.0.113.7, 10.0.0.1 x"}) {
    auto c = from_local_proxy({bad}, "127.0.0.1/32,10.0.0.0/8");
    EXPECT_EQ(c.text, "127.0.0.1:5000") << bad;
    EXPECT_FALSE(c.forwarded) << bad;
  }
}

TEST(ForwardedTest, NoHeaderMeansThePeer) {
  auto c = from_local_proxy({});
  EXPECT_EQ(c.text, "127.0.0.1:5000");
  EXPECT_FALSE(c.forwarded);
}

TEST(ForwardedTest, AddressesAreRecordedInCanonicalForm) {
  EXPECT_EQ(from_local_proxy({"2001:DB8:0::7"}).text, "2001:db8::7");
  EXPECT_EQ(from_local_proxy({"::ffff:203.0.113.7"}).text, "203.0.113.7");
}

TEST(ForwardedTest, Ipv6AndDualStackPeersMatchTheirRules) {
  auto v6 = client_address("::1", 6000, std::vector<std::string>{"2001:db8::7"}, trusted("::1/128"));
  EXPECT_EQ(v6.text, "2001:db8::7");
  // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; an IPv4 rule still applies.
  auto mapped =
      client_address("::ffff:127.0.0.1", 6000, std::vector<std::string>{"203.0.113.7"}, trusted("127.0.0.1/32"));
  EXPECT_EQ(mapped.text, "203.0.113.7");
}

}  // namespace
}  // namespace ota::http
