// Compilation resolves names to indexes, expands prefix sets and applies defaults.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbc/mgmt/config/compile.h"
#include "support/signing.h"

namespace sbc::mgmt::config {
namespace {

using ::testing::ElementsAre;

const std::vector<std::string> kPorts = {"wan0", "lan0"};

TEST(CompileConfigTest, ResolvesZonesPortsAndSets) {
  schema::ApplianceConfig config = testing::SampleConfig(2);
  config.mutable_rules(1)->add_dst_prefixes("192.0.2.0/24");
  config.mutable_rules(1)->mutable_rate_limit()->set_packets_per_second(100);
  auto spec = CompileConfig(config, 7, kPorts);
  ASSERT_TRUE(spec.has_value()) << spec.error().front();
  EXPECT_EQ(spec->version, 7u);
  EXPECT_THAT(spec->zone_names, ElementsAre("outside", "inside"));
  EXPECT_THAT(spec->zones[0].port_slots, ElementsAre(0));
  EXPECT_THAT(spec->zones[1].port_slots, ElementsAre(1));
  ASSERT_EQ(spec->rules.size(), 2u);
  EXPECT_THAT(spec->rule_names, ElementsAre("rule-0", "rule-1"));
  const dataplane::RuleSpec& r = spec->rules[1];
  EXPECT_EQ(r.from_zone, 0);
  EXPECT_EQ(r.to_zone, 1);
  EXPECT_EQ(r.protocol, dataplane::IpProtocol::kUdp);
  ASSERT_EQ(r.sources.size(), 2u);  // the "peers" set, expanded
  EXPECT_TRUE(r.sources[1].ipv6);
  ASSERT_EQ(r.destinations.size(), 1u);
  EXPECT_EQ(r.destinations[0].length, 24);
  EXPECT_THAT(r.destination_ports, ElementsAre(dataplane::PortRange{10001, 10001}));
  EXPECT_EQ(r.rate_pps, 100u);
  EXPECT_EQ(r.rate_burst, 100u);                   // one second's worth by default
  EXPECT_EQ(spec->conntrack.udp_timeout_s, 180u);  // default
}

TEST(CompileConfigTest, RefusesAPortTheBoardDoesNotHave) {
  schema::ApplianceConfig config = testing::SampleConfig(1);
  config.mutable_interfaces(1)->set_port("lan7");
  auto spec = CompileConfig(config, 1, kPorts);
  ASSERT_FALSE(spec.has_value());
  EXPECT_THAT(spec.error(),
              ElementsAre("interfaces[1].port: the board has no port named \"lan7\""));
}

TEST(CompileConfigTest, RefusesAnInvalidConfigWithAllItsErrors) {
  schema::ApplianceConfig config = testing::SampleConfig(2);
  config.mutable_rules(0)->set_to_zone("nowhere");
  config.mutable_rules(1)->set_dst_ports(0, "5-1");
  auto spec = CompileConfig(config, 1, kPorts);
  ASSERT_FALSE(spec.has_value());
  EXPECT_EQ(spec.error().size(), 2u);
}

}  // namespace
}  // namespace sbc::mgmt::config
