#include "common/net.h"

#include <gtest/gtest.h>

#include <string>

namespace ota::net {
namespace {

IpAddress ip(const std::string& text) {
  auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

TEST(IpAddressTest, ParsesAndPrintsCanonicalForms) {
  EXPECT_EQ(ip("192.0.2.1").to_string(), "192.0.2.1");
  EXPECT_FALSE(ip("192.0.2.1").v6);
  EXPECT_EQ(ip("2001:DB8:0:0:0:0:0:1").to_string(), "2001:db8::1");
  EXPECT_TRUE(ip("::1").v6);
}

TEST(IpAddressTest, Ipv4MappedIpv6IsTheIpv4Address) {
  EXPECT_EQ(ip("::ffff:127.0.0.1"), ip("127.0.0.1"));
  EXPECT_EQ(ip("::ffff:127.0.0.1").to_string(), "127.0.0.1");
}

TEST(IpAddressTest, RefusesAnythingButABareAddress) {
  for (const char* bad : {"", " 1.2.3.4", "1.2.3.4 ", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4:80",
                          "[::1]", "[::1]:443", "fe80::1%eth0", "unknown", "example.com", "::g", "1.2.3.4/32",
                          "0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

// inet_pton reads a C string; an embedded NUL must not cut the text short (found by fuzzing).
TEST(IpAddressTest, RefusesTextWithANulInside) {
  using namespace std::string_literals;
  for (const std::string& bad : {"::\0/"s, "203.0.113.9\0junk"s, "10.0.0.1\0"s, "\0"s}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value());
    EXPECT_FALSE(Cidr::parse(bad + "/32").has_value());
  }
}

TEST(CidrTest, MatchesItsNetworkOnly) {
  auto net8 = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(net8) << net8.error().message();
  EXPECT_TRUE(net8->contains(ip("10.0.0.0")));
  EXPECT_TRUE(net8->contains(ip("10.255.255.255")));
  EXPECT_FALSE(net8->contains(ip("11.0.0.0")));
  EXPECT_FALSE(net8->contains(ip("9.255.255.255")));

  auto odd = Cidr::parse("192.168.4.0/22");  // a prefix that does not end on a byte
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(ip("192.168.7.255")));
  EXPECT_FALSE(odd->contains(ip("192.168.8.0")));
  EXPECT_FALSE(odd->contains(ip("192.168.3.255")));

  auto v6 = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(ip("2001:db9::1")));
}

TEST(CidrTest, FamiliesNeverMatchEachOther) {
  auto all_v4 = Cidr::parse("0.0.0.0/0");
  auto all_v6 = Cidr::parse("::/0");
  ASSERT_TRUE(all_v4 && all_v6);
  EXPECT_TRUE(all_v4->contains(ip("203.0.113.7")));
  EXPECT_FALSE(all_v4->contains(ip("::1")));
  EXPECT_TRUE(all_v6->contains(ip("::1")));
  EXPECT_FALSE(all_v6->contains(ip("203.0.113.7")));
  // Except that an IPv4 peer reported on a dual-stack socket is IPv4.
  EXPECT_TRUE(all_v4->contains(ip("::ffff:203.0.113.7")));
}

TEST(CidrTest, BareAddressIsOneHost) {
  auto host = Cidr::parse("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->to_string(), "127.0.0.1/32");
  EXPECT_FALSE(host->contains(ip("127.0.0.2")));
  auto host6 = Cidr::parse("::1");
  ASSERT_TRUE(host6);
  EXPECT_EQ(host6->to_string(), "::1/128");
}

TEST(CidrTest, HostBitsAfterThePrefixAreRefusedWithBothReadings) {
  auto r = Cidr::parse("10.0.0.5/8");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("10.0.0.0/8"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("10.0.0.5/32"), std::string::npos) << r.error().message();
}

TEST(CidrTest, BadPrefixLengthsAreRefused) {
  for (const char* bad :
       {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0.0/ 8", "10.0.0.0/x", "/8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

TEST(CidrSetTest, ParsesACommaSeparatedList) {
  auto set = CidrSet::parse(" 127.0.0.1/32, ::1/128 ,10.0.0.0/8");
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->to_string(), "127.0.0.1/32,::1/128,10.0.0.0/8");
  EXPECT_TRUE(set->contains(ip("127.0.0.1")));
  EXPECT_TRUE(set->contains(ip("::1")));
  EXPECT_TRUE(set->contains(ip("10.1.2.3")));
  EXPECT_FALSE(set->contains(ip("127.0.0.2")));
  EXPECT_FALSE(set->contains(ip("::2")));
}

TEST(CidrSetTest, EmptyTextIsTheEmptySetThatTrustsNobody) {
  for (const char* empty : {"", "  "}) {
    auto set = CidrSet::parse(empty);
    ASSERT_TRUE(set);
    EXPECT_TRUE(set->empty());
    EXPECT_FALSE(set->contains(ip("127.0.0.1")));
  }
}

TEST(CidrSetTest, ErrorNamesTheBadEntry) {
  auto set = CidrSet::parse("127.0.0.1/32,10.0.0.0/88,::1");
  ASSERT_FALSE(set);
  EXPECT_NE(set.error().message().find("\"10.0.0.0/88\""), std::string::npos) << set.error().message();
  EXPECT_FALSE(CidrSet::parse("127.0.0.1,,::1"));
  EXPECT_FALSE(CidrSet::parse("127.0.0.1,"));
  EXPECT_FALSE(CidrSet::parse("localhost"));
}

}  // namespace
}  // namespace ota::net
