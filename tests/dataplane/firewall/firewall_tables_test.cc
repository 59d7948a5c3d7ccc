// The run-time tables answer lookups as the rule spec says: first match by rule
// order, zones, prefixes of both families, port ranges, ICMP types, fragments,
// anti-spoofing per zone.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>

#include <cstring>

#include "sbc/dataplane/firewall/firewall_tables.h"

namespace sbc::dataplane {
namespace {

IpPrefix P(const char* text, uint8_t length) {
  IpPrefix p;
  p.ipv6 = std::strchr(text, ':') != nullptr;
  inet_pton(p.ipv6 ? AF_INET6 : AF_INET, text, p.address.data());
  p.length = length;
  return p;
}

// Two zones: 0 = outside (port 0), 1 = inside (port 1).
RuleTableSpec BaseSpec() {
  RuleTableSpec spec;
  spec.version = 1;
  spec.zone_names = {"outside", "inside"};
  spec.zones.resize(2);
  spec.zones[0].port_slots = {0};
  spec.zones[1].port_slots = {1};
  return spec;
}

RuleSpec Rule(uint8_t from, uint8_t to, IpProtocol proto) {
  RuleSpec r;
  r.from_zone = from;
  r.to_zone = to;
  r.protocol = proto;
  return r;
}

struct Probe {
  const char* src;
  const char* dst;
  uint8_t protocol = 17;
  uint16_t sport = 40000, dport = 5060;
  uint8_t from = 0, to = 1;
  bool later_fragment = false;
};

class TablesTest : public ::testing::Test {
 protected:
  void Build(const RuleTableSpec& spec) {
    auto t = FirewallTables::Build(spec, 1, rte_get_tsc_hz());
    ASSERT_TRUE(t.has_value()) << t.error();
    tables_ = std::move(*t);
  }
  // The matching rule's index, or -1.
  int Match(const Probe& p) { return Lookup(p, false); }
  bool SourceAllowed(const Probe& p) { return Lookup(p, true) >= 0; }

  int Lookup(const Probe& p, bool sources) {
    const bool v6 = std::strchr(p.src, ':') != nullptr;
    uint32_t result = 0;
    if (v6) {
      AclKey6 k{};
      k.protocol = p.protocol;
      k.from_zone = p.from;
      k.to_zone = p.to;
      k.later_fragment = p.later_fragment;
      inet_pton(AF_INET6, p.src, k.src);
      inet_pton(AF_INET6, p.dst, k.dst);
      k.src_port = rte_cpu_to_be_16(p.sport);
      k.dst_port = rte_cpu_to_be_16(p.dport);
      const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&k)};
      if (sources)
        tables_->ClassifySources6(data, &result, 1);
      else
        tables_->ClassifyRules6(data, &result, 1);
    } else {
      AclKey4 k{};
      k.protocol = p.protocol;
      k.from_zone = p.from;
      k.to_zone = p.to;
      k.later_fragment = p.later_fragment;
      inet_pton(AF_INET, p.src, k.src);
      inet_pton(AF_INET, p.dst, k.dst);
      k.src_port = rte_cpu_to_be_16(p.sport);
      k.dst_port = rte_cpu_to_be_16(p.dport);
      const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&k)};
      if (sources)
        tables_->ClassifySources4(data, &result, 1);
      else
        tables_->ClassifyRules4(data, &result, 1);
    }
    return static_cast<int>(result) - 1;
  }

  std::unique_ptr<FirewallTables> tables_;
};

TEST_F(TablesTest, MatchesOnEveryFieldAndDeniesByDefault) {
  RuleTableSpec spec = BaseSpec();
  RuleSpec r = Rule(0, 1, IpProtocol::kUdp);
  r.sources = {P("198.51.100.0", 24)};
  r.destinations = {P("192.0.2.10", 32)};
  r.source_ports = {{1024, 65535}};
  r.destination_ports = {{5060, 5060}, {10000, 20000}};
  spec.rules = {r};
  Build(spec);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10"}), 0);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .dport = 15000}), 0);
  EXPECT_EQ(Match({.src = "198.51.101.7", .dst = "192.0.2.10"}), -1) << "source outside prefix";
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.11"}), -1) << "other destination";
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .protocol = 6}), -1) << "TCP";
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .sport = 80}), -1) << "source port";
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .dport = 5061}), -1) << "dest port";
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .from = 1, .to = 0}), -1) << "zones";
}

TEST_F(TablesTest, FirstMatchWinsInRuleOrder) {
  RuleTableSpec spec = BaseSpec();
  RuleSpec narrow = Rule(0, 1, IpProtocol::kUdp);
  narrow.destination_ports = {{5060, 5060}};
  spec.rules = {Rule(0, 1, IpProtocol::kAny), narrow};
  Build(spec);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10"}), 0);
  spec.rules = {narrow, Rule(0, 1, IpProtocol::kAny)};
  Build(spec);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10"}), 0);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.10", .dport = 9}), 1);
}

TEST_F(TablesTest, Ipv6PrefixesMatchOnAll128Bits) {
  RuleTableSpec spec = BaseSpec();
  RuleSpec r = Rule(0, 1, IpProtocol::kTcp);
  r.sources = {P("2001:db8:1::", 48)};
  r.destinations = {P("2001:db8:2::5", 128)};
  spec.rules = {r};
  Build(spec);
  EXPECT_EQ(Match({.src = "2001:db8:1:ffff::1", .dst = "2001:db8:2::5", .protocol = 6}), 0);
  EXPECT_EQ(Match({.src = "2001:db8:1:ffff::1", .dst = "2001:db8:2::6", .protocol = 6}), -1);
  EXPECT_EQ(Match({.src = "2001:db8:9::1", .dst = "2001:db8:2::5", .protocol = 6}), -1);
}

TEST_F(TablesTest, IcmpTypesMatchAnyCode) {
  RuleTableSpec spec = BaseSpec();
  RuleSpec r = Rule(0, 1, IpProtocol::kIcmp);
  r.icmp_types = {8};
  spec.rules = {r};
  Build(spec);
  EXPECT_EQ(
      Match(
          {.src = "198.51.100.7", .dst = "192.0.2.1", .protocol = 1, .sport = 8 << 8, .dport = 77}),
      0);
  EXPECT_EQ(Match({.src = "198.51.100.7", .dst = "192.0.2.1", .protocol = 1, .sport = 13 << 8}),
            -1);
}

TEST_F(TablesTest, LaterFragmentsMatchOnlyRulesThatAllowThem) {
  RuleTableSpec spec = BaseSpec();
  RuleSpec r = Rule(0, 1, IpProtocol::kUdp);
  r.destination_ports = {{5060, 5060}};
  spec.rules = {r};
  Build(spec);
  EXPECT_EQ(Match({.src = "198.51.100.7",
                   .dst = "192.0.2.1",
                   .sport = 0,
                   .dport = 0,
                   .later_fragment = true}),
            -1);
  spec.rules[0].allow_fragments = true;
  Build(spec);
  EXPECT_EQ(Match({.src = "198.51.100.7",
                   .dst = "192.0.2.1",
                   .sport = 0,
                   .dport = 0,
                   .later_fragment = true}),
            0);
}

TEST_F(TablesTest, SourcesMustBelongToTheIngressZone) {
  RuleTableSpec spec = BaseSpec();
  spec.zones[0].allowed_sources = {P("10.0.0.0", 8), P("2001:db8:100::", 48)};
  Build(spec);
  EXPECT_TRUE(SourceAllowed({.src = "10.1.2.3", .dst = "192.0.2.1"}));
  EXPECT_FALSE(SourceAllowed({.src = "11.1.2.3", .dst = "192.0.2.1"}));
  EXPECT_TRUE(SourceAllowed({.src = "2001:db8:100::7", .dst = "2001:db8::1"}));
  EXPECT_FALSE(SourceAllowed({.src = "2001:db8:101::7", .dst = "2001:db8::1"}));
  // The inside zone names no sets: any source may enter from it.
  EXPECT_TRUE(SourceAllowed({.src = "11.1.2.3", .dst = "10.0.0.1", .from = 1, .to = 0}));
}

}  // namespace
}  // namespace sbc::dataplane
