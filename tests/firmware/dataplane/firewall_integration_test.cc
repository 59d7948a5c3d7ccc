// The firewall on the running dataplane (ring ports, real workers): crafted packets in
// at one port's far end, and for each the test checks whether it came out of the peer
// port or which drop counter took it.
#include "firewall_fixture.h"

#include "sbc/drivers/nic/sim_traffic.h"
#include "support/rules.h"

namespace sbc::firmware {
namespace {

using dataplane::DropReason;
using testing::FrameSpec;
using testing::Ip;

struct PacketCase {
  const char* label;
  FrameSpec spec;
  Outcome expected;
  size_t in = kWan;
};
void PrintTo(const PacketCase& c, std::ostream* os) { *os << c.label; }

class FirewallPacketTest : public FirewallTest, public ::testing::WithParamInterface<PacketCase> {};

TEST_P(FirewallPacketTest, IsForwardedOrDroppedAsExpected) {
  EXPECT_EQ(Send(GetParam().in, GetParam().spec), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    RuleFields, FirewallPacketTest,
    ::testing::Values(
        PacketCase{"allowed_udp", Sip(), kPass},
        PacketCase{"allowed_udp_vlan", With(Sip(), [](auto& s) { s.vlan = 42; }), kPass},
        PacketCase{"allowed_tcp_syn_v6", Tcp("2001:db8:1::5", "2001:db8:2::80", 50000, 443, kSyn),
                   kPass},
        PacketCase{"allowed_via_prefix_set", Tcp("203.0.113.5", "192.0.2.80", 50000, 443, kSyn),
                   kPass},
        PacketCase{"allowed_icmp_echo", Icmp("198.51.100.7", "192.0.2.1", 8), kPass},
        PacketCase{"allowed_any_protocol",
                   With(Udp("203.0.113.99", "192.0.2.99", 1, 1), [](auto& s) { s.protocol = 47; }),
                   kPass},
        PacketCase{"denied_source_prefix", Udp("203.0.113.5", "192.0.2.10", 40000, 5060),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_destination", Udp("198.51.100.7", "192.0.2.11", 40000, 5060),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_source_port", Udp("198.51.100.7", "192.0.2.10", 80, 5060),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_destination_port", Udp("198.51.100.7", "192.0.2.10", 40000, 5061),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_protocol", Tcp("198.51.100.7", "192.0.2.10", 40000, 5060, kSyn),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_v6_port", Tcp("2001:db8:1::5", "2001:db8:2::80", 50000, 80, kSyn),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_icmp_type", Icmp("198.51.100.7", "192.0.2.1", 13),
                   Dropped(DropReason::kDenied)},
        PacketCase{"denied_wrong_direction", Udp("192.0.2.10", "198.51.100.7", 5060, 40000),
                   Dropped(DropReason::kDenied), kLan}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

INSTANTIATE_TEST_SUITE_P(
    Fragments, FirewallPacketTest,
    ::testing::Values(PacketCase{"first_fragment_is_classified",
                                 With(Sip(), [](auto& s) { s.more_fragments = true; }), kPass},
                      PacketCase{"later_fragment_dropped",
                                 With(Sip(), [](auto& s) { s.fragment_offset = 100; }),
                                 Dropped(DropReason::kFragment)},
                      PacketCase{"later_fragment_allowed_by_rule",
                                 With(Udp("203.0.113.7", "192.0.2.20", 1, 9000),
                                      [](auto& s) { s.fragment_offset = 100; }),
                                 kPass},
                      PacketCase{"later_v6_fragment_dropped",
                                 With(Tcp("2001:db8:1::5", "2001:db8:2::80", 50000, 443, kSyn),
                                      [](auto& s) { s.fragment_offset = 10; }),
                                 Dropped(DropReason::kFragment)}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

INSTANTIATE_TEST_SUITE_P(
    ForbiddenSources, FirewallPacketTest,
    ::testing::Values(PacketCase{"loopback", Udp("127.0.0.1", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSourceLoopback)},
                      PacketCase{"multicast", Udp("224.0.0.5", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSourceMulticast)},
                      PacketCase{"broadcast", Udp("255.255.255.255", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSourceBroadcast)},
                      PacketCase{"zero_network", Udp("0.0.0.1", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSourceUnspecified)},
                      PacketCase{"class_e", Udp("240.0.0.1", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSourceReserved)},
                      PacketCase{"v6_multicast", Udp("ff02::1", "2001:db8:2::80", 1, 443),
                                 Dropped(DropReason::kSourceMulticast)},
                      PacketCase{"v6_loopback", Udp("::1", "2001:db8:2::80", 1, 443),
                                 Dropped(DropReason::kSourceLoopback)},
                      PacketCase{"v6_unspecified", Udp("::", "2001:db8:2::80", 1, 443),
                                 Dropped(DropReason::kSourceUnspecified)},
                      PacketCase{"spoofed_v4", Udp("10.1.1.1", "192.0.2.10", 40000, 5060),
                                 Dropped(DropReason::kSpoofedSource)},
                      PacketCase{"spoofed_v6", Udp("2001:db8:9::1", "2001:db8:2::80", 1, 443),
                                 Dropped(DropReason::kSpoofedSource)},
                      PacketCase{"spoofed_from_inside", Udp("198.51.100.7", "198.51.100.8", 1, 2),
                                 Dropped(DropReason::kSpoofedSource), kLan},
                      PacketCase{
                          "source_route_lsrr",
                          With(Sip(), [](auto& s) { s.ipv4_options = {131, 7, 4, 192, 0, 2, 1}; }),
                          Dropped(DropReason::kSourceRoute)},
                      PacketCase{"v6_routing_type_0",
                                 With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443),
                                      [](auto& s) { s.ipv6_routing_type = 0; }),
                                 Dropped(DropReason::kSourceRoute)}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

INSTANTIATE_TEST_SUITE_P(
    Malformed, FirewallPacketTest,
    ::testing::Values(
        PacketCase{"runt", With(Sip(), [](auto& s) { s.truncate_to = 10; }),
                   Dropped(DropReason::kRuntFrame)},
        PacketCase{"truncated_vlan",
                   With(Sip(),
                        [](auto& s) {
                          s.vlan = 1;
                          s.truncate_to = 16;
                        }),
                   Dropped(DropReason::kTruncatedVlan)},
        PacketCase{"nested_vlan",
                   With(Sip(),
                        [](auto& s) {
                          s.vlan = 1;
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[16] = 0x81;
                            f[17] = 0x00;
                          };
                        }),
                   Dropped(DropReason::kNestedVlan)},
        PacketCase{"non_ip", With(Sip(), [](auto& s) { s.ether_type = 0x88cc; }),
                   Dropped(DropReason::kNonIp)},
        PacketCase{"truncated_ipv4", With(Sip(), [](auto& s) { s.truncate_to = kIp + 12; }),
                   Dropped(DropReason::kTruncatedIpv4)},
        PacketCase{
            "bad_version",
            With(Sip(), [](auto& s) { s.mutate = [](uint8_t* f, uint16_t) { f[kIp] = 0x55; }; }),
            Dropped(DropReason::kBadIpVersion)},
        PacketCase{
            "ihl_below_5",
            With(Sip(), [](auto& s) { s.mutate = [](uint8_t* f, uint16_t) { f[kIp] = 0x44; }; }),
            Dropped(DropReason::kBadIpv4HeaderLength)},
        PacketCase{"total_length_beyond_frame",
                   With(Sip(),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 2] = 0x05;
                            f[kIp + 3] = 0xdc;
                          };
                        }),
                   Dropped(DropReason::kBadIpv4TotalLength)},
        PacketCase{"total_length_below_header",
                   With(Sip(),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 2] = 0;
                            f[kIp + 3] = 10;
                          };
                        }),
                   Dropped(DropReason::kBadIpv4TotalLength)},
        PacketCase{"ttl_zero", With(Sip(), [](auto& s) { s.ttl = 0; }),
                   Dropped(DropReason::kTtlZero)},
        PacketCase{"option_length_zero",
                   With(Sip(),
                        [](auto& s) {
                          s.ipv4_options = {7, 0};
                        }),
                   Dropped(DropReason::kBadIpv4Options)},
        PacketCase{"truncated_udp",
                   With(Sip(),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 2] = 0;
                            f[kIp + 3] = 24;
                          };
                        }),
                   Dropped(DropReason::kTruncatedL4)},
        PacketCase{"udp_length_zero",
                   With(Sip(),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 24] = 0;
                            f[kIp + 25] = 0;
                          };
                        }),
                   Dropped(DropReason::kBadUdpLength)},
        PacketCase{"udp_length_beyond_packet",
                   With(Sip(),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 24] = 0x10;
                            f[kIp + 25] = 0;
                          };
                        }),
                   Dropped(DropReason::kBadUdpLength)},
        PacketCase{
            "tcp_data_offset_3",
            With(Tcp("203.0.113.5", "192.0.2.80", 50000, 443, kSyn),
                 [](auto& s) { s.mutate = [](uint8_t* f, uint16_t) { f[kIp + 32] = 3 << 4; }; }),
            Dropped(DropReason::kBadTcpHeader)},
        PacketCase{"truncated_icmp",
                   With(Icmp("198.51.100.7", "192.0.2.1", 8),
                        [](auto& s) { s.mutate = [](uint8_t* f, uint16_t) { f[kIp + 3] = 22; }; }),
                   Dropped(DropReason::kTruncatedL4)},
        PacketCase{"truncated_ipv6",
                   With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443),
                        [](auto& s) { s.truncate_to = kIp + 30; }),
                   Dropped(DropReason::kTruncatedIpv6)},
        PacketCase{
            "ipv6_payload_beyond_frame",
            With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443),
                 [](auto& s) { s.mutate = [](uint8_t* f, uint16_t) { f[kIp + 4] = 0x10; }; }),
            Dropped(DropReason::kBadIpv6PayloadLength)},
        PacketCase{"ipv6_payload_zero",
                   With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443),
                        [](auto& s) {
                          s.mutate = [](uint8_t* f, uint16_t) {
                            f[kIp + 4] = 0;
                            f[kIp + 5] = 0;
                          };
                        }),
                   Dropped(DropReason::kBadIpv6PayloadLength)},
        PacketCase{"hop_limit_zero",
                   With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443), [](auto& s) { s.ttl = 0; }),
                   Dropped(DropReason::kTtlZero)},
        PacketCase{"ipv6_extension_chain_too_long",
                   With(Udp("2001:db8:1::5", "2001:db8:2::80", 1, 443),
                        [](auto& s) { s.ipv6_destination_options = 9; }),
                   Dropped(DropReason::kIpv6ExtensionChain)}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

TEST_F(FirewallTest, ReturnTrafficOfAnAllowedFlowPassesAndNothingElse) {
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), Dropped(DropReason::kDenied))
      << "reply before request";
  EXPECT_EQ(Send(kWan, Sip()), kPass);
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), kPass) << "no rule allows inside->outside";
  EXPECT_EQ(Send(kLan, Udp("192.0.2.10", "198.51.100.7", 5060, 40001)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Icmp("198.51.100.7", "192.0.2.1", 8)), kPass);
  EXPECT_EQ(Send(kLan, Icmp("192.0.2.1", "198.51.100.7", 0)), kPass)
      << "echo reply of a tracked echo";
}

TEST_F(FirewallTest, StrayTcpPacketsOpenNothing) {
  const FrameSpec syn = Tcp("203.0.113.5", "192.0.2.80", 50000, 443, kSyn);
  EXPECT_EQ(Send(kWan, With(syn, [](auto& s) { s.tcp_flags = kAck; })),
            Dropped(DropReason::kTcpNoState));
  EXPECT_EQ(Send(kWan, With(syn, [](auto& s) { s.tcp_flags = kRst; })),
            Dropped(DropReason::kTcpNoState));
  EXPECT_EQ(Send(kWan, With(syn, [](auto& s) { s.tcp_flags = kSyn | kAck; })),
            Dropped(DropReason::kTcpNoState));
  EXPECT_EQ(Send(kLan, With(testing::Reversed(syn), [](auto& s) { s.tcp_flags = kSyn | kAck; })),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, With(syn, [](auto& s) { s.tcp_flags = kAck; })),
            Dropped(DropReason::kTcpNoState))
      << "the stray SYN-ACK opened a connection";
}

// A RST closes a connection softly: we see no sequence numbers, so a blind RST (from
// anyone who knows the port pair) must not cut a connection its endpoints keep using;
// a closed connection ages out on the transitory timeout (120 s) instead.
TEST_F(FirewallTest, TcpConnectionLivesFromSynToRstAndAgesOutAfterIt) {
  const FrameSpec out = Tcp("203.0.113.5", "192.0.2.80", 50000, 443, kSyn);
  const FrameSpec back = testing::Reversed(out);
  auto flags = [](FrameSpec s, uint8_t f) {
    s.tcp_flags = f;
    return s;
  };
  EXPECT_EQ(Send(kWan, out), kPass);
  EXPECT_EQ(Send(kLan, flags(back, kAck)), Dropped(DropReason::kTcpNoState))
      << "data before SYN-ACK";
  EXPECT_EQ(Send(kLan, flags(back, kSyn | kAck)), kPass);
  EXPECT_EQ(Send(kWan, flags(out, kAck)), kPass);
  EXPECT_EQ(Send(kWan, flags(out, kAck | kPsh)), kPass);
  EXPECT_EQ(Send(kLan, flags(back, kAck | kPsh)), kPass);
  EXPECT_EQ(Send(kLan, flags(back, kRst)), kPass);
  EXPECT_EQ(Send(kWan, flags(out, kAck)), kPass) << "a RST alone does not cut the connection";
  Advance(100);
  EXPECT_EQ(Send(kLan, flags(back, kAck)), kPass) << "still in use: its timer restarted";
  Advance(121);
  EXPECT_EQ(Send(kWan, flags(out, kAck)), Dropped(DropReason::kTcpNoState))
      << "closed, then idle 121 s: gone";
}

TEST_F(FirewallTest, RuleRateLimitDropsTheExcess) {
  std::vector<FrameSpec> batch;
  for (int i = 0; i < 20; ++i)
    batch.push_back(Udp("203.0.113.5", "192.0.2.30", uint16_t(2000 + i), 7000));
  const BatchResult r = SendBatch(kWan, batch);
  EXPECT_EQ(r.forwarded, 5u);  // the burst (the test's clock stands still)
  EXPECT_EQ(r.Dropped(DropReason::kRateLimited), 15u);
  Advance(2);
  EXPECT_EQ(SendBatch(kWan, batch).forwarded, 2u) << "two seconds refill two packets";
}

TEST_F(FirewallTest, NoRuleSetMeansEverythingIsDropped) {
  dp_->Stop();
  dp_->Close();
  dp_.reset();
  Start(nullptr);
  EXPECT_EQ(Send(kWan, Sip()), Dropped(DropReason::kNoRuleSet));
}

TEST_F(FirewallTest, IdleFlowsExpire) {
  ASSERT_TRUE(dp_->ApplyRules(Compile(std::string(kBaseConfig) + "conntrack { udp_timeout_s: 1 }"))
                  .has_value());
  EXPECT_EQ(Send(kWan, Sip()), kPass);
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), kPass);
  Advance(0.9);
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), kPass) << "0.9 s idle of 1 s";
  Advance(1.1);
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), Dropped(DropReason::kDenied));
}

TEST_F(FirewallTest, FlowsSurviveASwapUnlessTheNewRulesDisallowThem) {
  EXPECT_EQ(Send(kWan, Sip()), kPass);
  // The same rules in another order: the flow is re-checked and kept.
  std::string reordered = kBaseConfig;
  reordered +=
      R"(rules { name: "zz-first" from_zone: "inside" to_zone: "outside" protocol: ICMP })";
  ASSERT_TRUE(dp_->ApplyRules(Compile(reordered, 2)).has_value());
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), kPass);
  // Rules without "sip": the flow's next packet finds it gone.
  std::string without = kBaseConfig;
  without.replace(without.find("name: \"sip\""), 11, "name: \"old\"");
  without.replace(without.find("dst_ports: [\"5060\"]"), 19, "dst_ports: [\"5070\"]");
  ASSERT_TRUE(dp_->ApplyRules(Compile(without, 3)).has_value());
  EXPECT_EQ(Send(kLan, testing::Reversed(Sip())), Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Sip()), Dropped(DropReason::kDenied));
}

class FirewallLimitsTest : public FirewallTest {
 protected:
  void SetUp() override {}
  void StartWithLimits(const std::string& limits) {
    const std::string config = std::string(kBaseConfig) + limits;
    Start(&config);
  }
};

TEST_F(FirewallLimitsTest, SourceFloodLimitStopsNewFlowsNotExistingOnes) {
  StartWithLimits("flood_protection { new_flows_per_second_per_source: 1 new_flows_burst: 3 }");
  std::vector<FrameSpec> batch;
  for (uint16_t i = 0; i < 6; ++i)
    batch.push_back(Udp("198.51.100.7", "192.0.2.10", uint16_t(40000 + i), 5060));
  const BatchResult r = SendBatch(kWan, batch);
  EXPECT_EQ(r.forwarded, 3u);
  EXPECT_EQ(r.Dropped(DropReason::kSourceFlood), 3u);
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40000, 5060)), kPass)
      << "an existing flow";
  EXPECT_EQ(Send(kWan, Udp("198.51.100.8", "192.0.2.10", 40000, 5060)), kPass) << "another source";
}

TEST_F(FirewallLimitsTest, PerSourceFlowLimit) {
  StartWithLimits("conntrack { max_flows_per_source: 2 }");
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40000, 5060)), kPass);
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40001, 5060)), kPass);
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40002, 5060)),
            Dropped(DropReason::kSourceFlowLimit));
  EXPECT_EQ(Send(kWan, Udp("198.51.100.8", "192.0.2.10", 40002, 5060)), kPass);
}

TEST_F(FirewallLimitsTest, FullTableDropsNewFlowsAndKeepsExistingOnes) {
  StartWithLimits("conntrack { max_flows: 4 }");
  for (int i = 1; i <= 4; ++i)
    EXPECT_EQ(
        Send(kWan, Udp(("198.51.100." + std::to_string(i)).c_str(), "192.0.2.10", 40000, 5060)),
        kPass);
  EXPECT_EQ(Send(kWan, Udp("198.51.100.5", "192.0.2.10", 40000, 5060)),
            Dropped(DropReason::kFlowTableFull));
  EXPECT_EQ(Send(kWan, Udp("198.51.100.6", "192.0.2.10", 40000, 5060)),
            Dropped(DropReason::kFlowTableFull));
  EXPECT_EQ(Send(kWan, Udp("198.51.100.1", "192.0.2.10", 40000, 5060)), kPass)
      << "an existing flow";
  EXPECT_EQ(Send(kLan, Udp("192.0.2.10", "198.51.100.2", 5060, 40000)), kPass) << "a reply";
}

// At the half-open limit a new SYN evicts the oldest half-open connection (a flood
// cannot hold every slot); an established connection is never evicted.
TEST_F(FirewallLimitsTest, HalfOpenTcpLimitEvictsTheOldest) {
  StartWithLimits("flood_protection { max_half_open_tcp: 2 }");
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.1", "192.0.2.80", 50000, 443, kSyn)), kPass);
  // 203.0.113.1 completes its handshake: no longer half-open.
  EXPECT_EQ(Send(kLan, Tcp("192.0.2.80", "203.0.113.1", 443, 50000, kSyn | kAck)), kPass);
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.1", "192.0.2.80", 50000, 443, kAck)), kPass);
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.2", "192.0.2.80", 50000, 443, kSyn)), kPass);
  Advance(1);
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.3", "192.0.2.80", 50000, 443, kSyn)), kPass);
  Advance(1);
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.4", "192.0.2.80", 50000, 443, kSyn)), kPass)
      << "evicts .2, the oldest";
  EXPECT_EQ(Send(kLan, Tcp("192.0.2.80", "203.0.113.2", 443, 50000, kSyn | kAck)),
            Dropped(DropReason::kDenied))
      << "no connection any more: the rules judge it, and none allows inside->outside";
  EXPECT_EQ(Send(kLan, Tcp("192.0.2.80", "203.0.113.3", 443, 50000, kSyn | kAck)), kPass);
  EXPECT_EQ(Send(kLan, Tcp("192.0.2.80", "203.0.113.4", 443, 50000, kSyn | kAck)), kPass);
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.1", "192.0.2.80", 50000, 443, kAck)), kPass)
      << "established: kept";
}

class OwnAddressTest : public FirewallTest {
 protected:
  // Sends `spec` into `in` and returns what came back out of the same port (nullptr if
  // nothing did); the caller frees it.
  rte_mbuf* Exchange(size_t in, const FrameSpec& spec) {
    const auto before = dp_->Counters();
    rte_mbuf* frame = testing::BuildFrame(dp_->ports().pool(), spec);
    EXPECT_EQ(dp_->ports().sim_wire()->Send(in, &frame, 1), 1);
    EXPECT_TRUE(WaitFor([&] {
      const auto now = dp_->Counters();
      return now.drops_total() + now.ports[kWan].tx_packets + now.ports[kLan].tx_packets ==
             before.drops_total() + before.ports[kWan].tx_packets + before.ports[kLan].tx_packets +
                 1;
    }));
    rte_mbuf* reply = nullptr;
    if (dp_->ports().sim_wire()->Receive(in, &reply, 1) != 1) reply = nullptr;
    return reply;
  }
  rte_ether_addr PortMac(size_t port) {
    rte_ether_addr mac{};
    rte_eth_macaddr_get(dp_->ports().port_id(port), &mac);
    return mac;
  }
  static FrameSpec Arp(const char* sender, const char* target) {
    FrameSpec s = Udp(sender, target, 0, 0);
    s.ether_type = RTE_ETHER_TYPE_ARP;
    s.mutate = [sender_ip = Ip(sender), target_ip = Ip(target)](uint8_t* f, uint16_t) {
      const uint8_t header[8] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet/IPv4, request
      std::memcpy(f + 14, header, 8);
      std::memcpy(f + 22, f + 6, 6);  // sender MAC
      std::memcpy(f + 28, sender_ip.data(), 4);
      std::memset(f + 32, 0, 6);
      std::memcpy(f + 38, target_ip.data(), 4);
    };
    return s;
  }
  static FrameSpec NeighbourSolicit(const char* src, const char* target) {
    FrameSpec s = Udp(src, "ff02::1:ff00:250", 0, 0);
    s.protocol = IPPROTO_ICMPV6;
    s.icmp_type = 135;
    s.ttl = 255;
    s.payload = 24;
    s.mutate = [t = Ip(target)](uint8_t* f, uint16_t) {
      uint8_t* icmp = f + 14 + 40;
      std::memset(icmp + 4, 0, 4);
      std::memcpy(icmp + 8, t.data(), 16);
      icmp[24] = 1;  // source link-layer address option
      icmp[25] = 1;
      std::memcpy(icmp + 26, f + 6, 6);
    };
    return s;
  }
};

bool Icmp6ChecksumValid(const uint8_t* frame) {
  const auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(frame + 14);
  uint32_t sum =
      rte_ipv6_phdr_cksum(ip, 0) + rte_raw_cksum(frame + 54, rte_be_to_cpu_16(ip->payload_len));
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

TEST_F(OwnAddressTest, AnswersArpForItsAddressAndLetsOtherArpCross) {
  rte_mbuf* reply = Exchange(kWan, Arp("198.51.100.7", "192.0.2.250"));
  ASSERT_NE(reply, nullptr) << "no ARP reply";
  const auto* f = rte_pktmbuf_mtod(reply, const uint8_t*);
  const rte_ether_addr mac = PortMac(kWan);
  EXPECT_EQ(f[20] << 8 | f[21], 2) << "opcode";
  EXPECT_EQ(std::memcmp(f + 22, mac.addr_bytes, 6), 0) << "sender MAC is the port's";
  EXPECT_EQ(std::memcmp(f + 28, Ip("192.0.2.250").data(), 4), 0);
  EXPECT_EQ(std::memcmp(f + 38, Ip("198.51.100.7").data(), 4), 0);
  EXPECT_EQ(std::memcmp(f, f + 32, 6), 0) << "sent back to the requester";
  rte_pktmbuf_free(reply);
  EXPECT_EQ(Send(kWan, Arp("198.51.100.7", "192.0.2.7")), kPass)
      << "ARP between neighbours crosses";
}

TEST_F(OwnAddressTest, AnswersEchoRequestsForItsAddresses) {
  rte_mbuf* reply = Exchange(kWan, Icmp("198.51.100.7", "192.0.2.250", 8));
  ASSERT_NE(reply, nullptr);
  auto* ip = rte_pktmbuf_mtod_offset(reply, rte_ipv4_hdr*, 14);
  EXPECT_EQ(std::memcmp(&ip->src_addr, Ip("192.0.2.250").data(), 4), 0);
  EXPECT_EQ(std::memcmp(&ip->dst_addr, Ip("198.51.100.7").data(), 4), 0);
  EXPECT_EQ(rte_ipv4_cksum(ip), 0) << "IPv4 header checksum";
  const auto* icmp = reinterpret_cast<const uint8_t*>(ip + 1);
  EXPECT_EQ(icmp[0], 0) << "echo reply";
  EXPECT_EQ(rte_raw_cksum(icmp, rte_be_to_cpu_16(ip->total_length) - 20), 0xffff)
      << "ICMP checksum";
  rte_pktmbuf_free(reply);

  FrameSpec v6 = Udp("2001:db8:1::5", "2001:db8:2::250", 0, 0);
  v6.protocol = IPPROTO_ICMPV6;
  v6.icmp_type = 128;
  reply = Exchange(kWan, v6);
  ASSERT_NE(reply, nullptr);
  const auto* f = rte_pktmbuf_mtod(reply, const uint8_t*);
  EXPECT_EQ(f[54], 129) << "ICMPv6 echo reply";
  EXPECT_EQ(std::memcmp(f + 22, Ip("2001:db8:2::250").data(), 16), 0);
  EXPECT_TRUE(Icmp6ChecksumValid(f));
  rte_pktmbuf_free(reply);
}

TEST_F(OwnAddressTest, AnswersNeighbourSolicitationsWithAnAdvertisement) {
  rte_mbuf* reply = Exchange(kWan, NeighbourSolicit("2001:db8:1::5", "2001:db8:2::250"));
  ASSERT_NE(reply, nullptr);
  const auto* f = rte_pktmbuf_mtod(reply, const uint8_t*);
  const uint8_t* icmp = f + 54;
  EXPECT_EQ(icmp[0], 136) << "neighbour advertisement";
  EXPECT_EQ(icmp[4], 0x60) << "solicited + override";
  EXPECT_EQ(f[21], 255) << "hop limit";
  EXPECT_EQ(std::memcmp(icmp + 8, Ip("2001:db8:2::250").data(), 16), 0);
  EXPECT_EQ(icmp[24], 2) << "target link-layer address option";
  EXPECT_EQ(std::memcmp(icmp + 26, PortMac(kWan).addr_bytes, 6), 0);
  EXPECT_EQ(std::memcmp(f + 38, Ip("2001:db8:1::5").data(), 16), 0) << "to the solicitor";
  EXPECT_TRUE(Icmp6ChecksumValid(f));
  rte_pktmbuf_free(reply);
}

TEST_F(OwnAddressTest, RepliesAreRateLimited) {
  const BatchResult r =
      SendBatch(kWan, std::vector<FrameSpec>(300, Icmp("198.51.100.7", "192.0.2.250", 8)));
  EXPECT_EQ(r.answered, 200u);  // the burst (the test's clock stands still)
  EXPECT_EQ(r.Dropped(DropReason::kEchoLimited), 100u);
  Advance(0.1);
  const BatchResult later =
      SendBatch(kWan, std::vector<FrameSpec>(150, Icmp("198.51.100.7", "192.0.2.250", 8)));
  EXPECT_NEAR(double(later.answered), 100.0, 1.0)
      << "1,000 a second refill 100 in 100 ms (rte_meter rounds)";
}

TEST_F(FirewallTest, DeniedPacketsAndLoggedRulesAreLogged) {
  (void)dp_->TakePacketLog();
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.11", 40000, 5060)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Udp("2001:db8:1::5", "2001:db8:2::81", 1234, 443)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Icmp("198.51.100.7", "192.0.2.1", 8)), kPass);
  EXPECT_EQ(Send(kWan, Sip()), kPass);  // allowed, rule not marked log: no line
  EXPECT_THAT(dp_->TakePacketLog(),
              ::testing::ElementsAre(
                  "deny reason=denied port=wan0 udp 198.51.100.7:40000 -> 192.0.2.11:5060",
                  "deny reason=denied port=wan0 udp [2001:db8:1::5]:1234 -> [2001:db8:2::81]:443",
                  "allow rule=ping port=wan0 icmp 198.51.100.7 -> 192.0.2.1 type=8 code=0"));
}

TEST_F(FirewallTest, PacketLogIsRateLimited) {
  (void)dp_->TakePacketLog();
  std::vector<FrameSpec> batch;
  for (int i = 0; i < 400; ++i)
    batch.push_back(Udp("198.51.100.7", "192.0.2.11", uint16_t(1000 + i), 5060));
  const BatchResult r = SendBatch(kWan, batch);
  EXPECT_EQ(r.Dropped(DropReason::kDenied), 400u);
  const size_t lines = dp_->TakePacketLog().size();
  EXPECT_EQ(lines, 200u);  // the burst (the test's clock stands still), not every packet
  EXPECT_EQ(lines + dp_->PacketLogSuppressed(), 400u);
}

TEST_F(FirewallTest, PseudonymisedLogsShowNoAddresses) {
  ASSERT_TRUE(
      dp_->ApplyRules(Compile(std::string(kBaseConfig) + "privacy { pseudonymise: true }", 2))
          .has_value());
  (void)dp_->TakePacketLog();
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.11", 40000, 5060)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.11", 40001, 5060)),
            Dropped(DropReason::kDenied));
  const auto lines = dp_->TakePacketLog();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(
      lines[0],
      ::testing::MatchesRegex(
          "deny reason=denied port=wan0 udp anon-[0-9a-f]{12}:40000 -> anon-[0-9a-f]{12}:5060"));
  EXPECT_THAT(lines[0], ::testing::Not(::testing::HasSubstr("198.51")));
  // The same address gets the same pseudonym, so a scan stays visible.
  EXPECT_EQ(lines[0].substr(0, lines[0].find(':')), lines[1].substr(0, lines[1].find(':')));
}

// 100 rule swaps while traffic flows: no allowed packet is lost, no buffer leaks.
TEST(FirewallSwapTest, HundredSwapsUnderTrafficLoseNothing) {
  auto started = Dataplane::Start(SimBoard());
  ASSERT_TRUE(started.has_value()) << started.error();
  Dataplane& dp = **started;
  const unsigned in_use = rte_mempool_in_use_count(dp.ports().pool());
  // Two rule sets that both allow the traffic, with different rule indexes.
  dataplane::RuleTableSpec a = testing::AllowAllRules(1);
  dataplane::RuleTableSpec b = testing::AllowAllRules(2);
  std::swap(b.rules[0], b.rules[1]);
  std::swap(b.rule_names[0], b.rule_names[1]);
  for (int i = 0; i < 50; ++i) {  // unrelated rules ahead of the ones that match
    dataplane::RuleSpec extra = b.rules[0];
    extra.protocol = dataplane::IpProtocol::kTcp;
    extra.destination_ports = {{uint16_t(i + 1), uint16_t(i + 1)}};
    b.rules.insert(b.rules.begin(), extra);
    b.rule_names.insert(b.rule_names.begin(), "extra-" + std::to_string(i));
  }
  ASSERT_TRUE(dp.ApplyRules(a).has_value());

  std::atomic<bool> traffic_done{false};
  uint64_t sent = 0, arrived = 0;
  std::thread traffic([&] {
    drivers::nic::SimWire& wire = *dp.ports().sim_wire();
    drivers::nic::SimTraffic gen(dp.ports().pool(), 512);
    rte_mbuf* burst[32];
    constexpr uint64_t kFrames = 300000;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while ((sent < kFrames || arrived < sent) && std::chrono::steady_clock::now() < deadline) {
      if (sent < kFrames && sent - arrived < 512) {
        const auto dir =
            (sent / 32) % 2 ? drivers::nic::Direction::kReply : drivers::nic::Direction::kForward;
        const uint16_t n = gen.Build(dir, burst, 32);
        const uint16_t taken =
            wire.Send(dir == drivers::nic::Direction::kForward ? kWan : kLan, burst, n);
        if (taken < n) rte_pktmbuf_free_bulk(burst + taken, n - taken);
        sent += taken;
      }
      for (size_t port : {kWan, kLan}) {
        const uint16_t got = wire.Receive(port, burst, 32);
        arrived += got;
        if (got) rte_pktmbuf_free_bulk(burst, got);
      }
    }
    traffic_done = true;
  });
  // At least 100 swaps, and swapping for as long as the traffic runs.
  int swaps = 0;
  while (swaps < 100 || !traffic_done.load()) {
    ASSERT_TRUE(dp.ApplyRules(swaps % 2 ? a : b).has_value());
    ++swaps;
  }
  traffic.join();
  EXPECT_GE(swaps, 100);
  EXPECT_GT(sent, 0u);
  EXPECT_EQ(arrived, sent) << "allowed packets were lost during swaps";
  EXPECT_EQ(dp.Counters().drops_total(), 0u);
  dp.Stop();
  EXPECT_EQ(rte_mempool_in_use_count(dp.ports().pool()), in_use);
  dp.Close();
}

}  // namespace
}  // namespace sbc::firmware
