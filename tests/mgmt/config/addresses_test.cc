#include <gtest/gtest.h>

#include "sbc/mgmt/config/addresses.h"

namespace sbc::mgmt::config {
namespace {

TEST(AddressesTest, ParsesPrefixesOfBothFamilies) {
  auto v4 = ParsePrefix("192.0.2.0/24");
  ASSERT_TRUE(v4.has_value()) << v4.error();
  EXPECT_FALSE(v4->ipv6);
  EXPECT_EQ(v4->length, 24);
  EXPECT_EQ(v4->address[0], 192);
  auto v6 = ParsePrefix("2001:db8::/32");
  ASSERT_TRUE(v6.has_value());
  EXPECT_TRUE(v6->ipv6);
  EXPECT_EQ(v6->length, 32);
  auto host = ParsePrefix("198.51.100.7");
  ASSERT_TRUE(host.has_value());
  EXPECT_EQ(host->length, 32);
}

TEST(AddressesTest, RefusesBadPrefixesWithTheReason) {
  EXPECT_EQ(ParsePrefix("192.0.2.1/24").error(), "\"192.0.2.1/24\" has host bits set beyond /24");
  EXPECT_EQ(ParsePrefix("192.0.2.0/33").error(), "prefix length \"33\" is not a number in 0-32");
  EXPECT_EQ(ParsePrefix("example.com/8").error(), "\"example.com/8\" is not an address or prefix");
  EXPECT_EQ(ParsePrefix("").error(), "\"\" is not an address or prefix");
}

TEST(AddressesTest, ParsesPortRanges) {
  EXPECT_EQ(ParsePortRange("5060").value(), (dataplane::PortRange{5060, 5060}));
  EXPECT_EQ(ParsePortRange("10000-20000").value(), (dataplane::PortRange{10000, 20000}));
  EXPECT_EQ(ParsePortRange("7000-6000").error(), "range 7000-6000 is empty");
  EXPECT_EQ(ParsePortRange("70000").error(), "port \"70000\" is not a number in 0-65535");
  EXPECT_EQ(ParsePortRange("0").error(), "port 0 is not a valid port");
  EXPECT_EQ(ParsePortRange("1-x").error(), "port \"x\" is not a number in 0-65535");
}

}  // namespace
}  // namespace sbc::mgmt::config
