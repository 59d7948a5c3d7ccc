// Hostile traffic against the firewall on the running dataplane: every TCP flag
// combination in every connection state against a model of our own, bursts that end
// one flow twice, SYN floods, neighbour discovery from beyond the link, a ping flood
// while ARP must still be answered, and flows that must not cross another zone
// boundary. Each case is a frame in at a port's far end and what became of it.
#include <rte_arp.h>

#include <bitset>
#include <set>

#include "firewall_fixture.h"

namespace sbc::firmware {
namespace {

using dataplane::DropReason;
using testing::FrameSpec;
using testing::Ip;

constexpr uint8_t kFin = 0x01, kUrg = 0x20;

// --- TCP flags -------------------------------------------------------------------------

// The model this test holds the firewall to, written from RFC 793 and Linux conntrack's
// documented table (nf_conntrack_proto_tcp.c, tcp_valid_flags), not from our code.
//
// Which flag sets a real segment carries, PSH ignored (it may ride on any of them).
bool RealSegment(uint8_t flags) {
  static const std::set<std::string> kReal = {"S", "SU", "SA", "R", "RA", "FA", "FAU", "A", "AU"};
  std::string name;
  if (flags & kFin) name += "F";
  if (flags & kSyn) name += "S";
  if (flags & kRst) name += "R";
  if (flags & kAck) name += "A";
  if (flags & kUrg) name += "U";
  return kReal.contains(name);
}

enum class State { kNone, kSynSent, kSynReceived, kEstablished, kClosing, kClosed };
const char* Name(State s) {
  switch (s) {
    case State::kNone:
      return "none";
    case State::kSynSent:
      return "syn_sent";
    case State::kSynReceived:
      return "syn_received";
    case State::kEstablished:
      return "established";
    case State::kClosing:
      return "closing";
    case State::kClosed:
      return "closed";
  }
  return "?";
}

// What a segment with `flags` from the originator (or the responder) of a connection
// in `state` must meet. The rules allow outside->inside TCP to 192.0.2.80:443 only.
Outcome Expected(State state, bool from_originator, uint8_t flags) {
  if (!RealSegment(flags)) return Dropped(DropReason::kTcpBadFlags);  // in any state
  if (state == State::kNone) {
    if (!from_originator) return Dropped(DropReason::kDenied);        // no rule for inside->outside
    return flags == kSyn ? kPass : Dropped(DropReason::kTcpNoState);  // only a bare SYN opens
  }
  const bool syn = flags & kSyn, ack = flags & kAck, rst = flags & kRst;
  if (rst) return kPass;  // ends it, from either side
  if (from_originator) return kPass;
  // The responder: never a SYN of its own; before its SYN-ACK, nothing but the SYN-ACK.
  if (syn && !ack) return Dropped(DropReason::kTcpNoState);
  if (state == State::kSynSent && !(syn && ack)) return Dropped(DropReason::kTcpNoState);
  return kPass;
}

class TcpFlagsTest : public FirewallTest {
 protected:
  // Brings the connection from 203.0.113.5:`port` to 192.0.2.80:443 into `state`.
  void Reach(State state, uint16_t port) {
    const FrameSpec out = Tcp("203.0.113.5", "192.0.2.80", port, 443, kSyn);
    const FrameSpec back = testing::Reversed(out);
    auto flags = [](FrameSpec s, uint8_t f) {
      s.tcp_flags = f;
      return s;
    };
    const std::vector<std::pair<size_t, FrameSpec>> steps = {{kWan, out},
                                                             {kLan, flags(back, kSyn | kAck)},
                                                             {kWan, flags(out, kAck)},
                                                             {kWan, flags(out, kFin | kAck)},
                                                             {kLan, flags(back, kRst)}};
    for (size_t i = 0; i < static_cast<size_t>(state); ++i)
      ASSERT_EQ(Send(steps[i].first, steps[i].second), kPass) << Name(state) << " step " << i;
  }
};

TEST_F(TcpFlagsTest, All64CombinationsInEveryStateMeetTheModel) {
  uint16_t port = 10000;
  int cases = 0, passed = 0;
  for (State state : {State::kNone, State::kSynSent, State::kSynReceived, State::kEstablished,
                      State::kClosing, State::kClosed}) {
    for (bool from_originator : {true, false}) {
      for (unsigned flags = 0; flags < 64; ++flags) {
        ++port;
        Reach(state, port);
        FrameSpec probe = Tcp("203.0.113.5", "192.0.2.80", port, 443, uint8_t(flags));
        if (!from_originator) probe = testing::Reversed(probe);
        const Outcome got = Send(from_originator ? kWan : kLan, probe);
        EXPECT_EQ(got, Expected(state, from_originator, uint8_t(flags)))
            << Name(state) << (from_originator ? ", originator" : ", responder") << ", flags 0x"
            << std::hex << flags << " (" << std::bitset<6>(flags) << " URG ACK PSH RST SYN FIN)";
        ++cases;
        passed += got.passed;
      }
    }
  }
  EXPECT_EQ(cases, 6 * 2 * 64);
  EXPECT_GT(passed, 0);
}

TEST_F(TcpFlagsTest, EcnBitsNeitherSpoilASynNorPassAnInvalidCombination) {
  constexpr uint8_t kEce = 0x40, kCwr = 0x80;
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.5", "192.0.2.80", 31000, 443, kSyn | kEce | kCwr)), kPass)
      << "ECN setup SYN";
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.5", "192.0.2.80", 31001, 443, kSyn | kFin | kEce)),
            Dropped(DropReason::kTcpBadFlags));
  EXPECT_EQ(Send(kWan, Tcp("203.0.113.5", "192.0.2.80", 31002, 443, kEce | kCwr)),
            Dropped(DropReason::kTcpBadFlags))
      << "no classic flag at all";
}

// --- One flow ended twice within a burst ------------------------------------------------

class BurstTest : public FirewallTest {
 protected:
  void SetUp() override {}
  void StartWith(const std::string& extra) {
    const std::string config = std::string(kBaseConfig) + extra;
    Start(&config);
  }
  // Sends `specs` into `in` as one burst (one ring enqueue: the worker takes them in
  // one poll) and waits until every one is accounted for and that poll has ended: a
  // worker counts each packet as it judges it but publishes its flow count only at the
  // end of the poll, so Flows() read on the counters alone may predate the burst.
  void Burst(size_t in, const std::vector<FrameSpec>& specs) {
    ASSERT_LE(specs.size(), 32u);
    const auto before = dp_->Counters();
    std::vector<rte_mbuf*> frames;
    for (const FrameSpec& s : specs) frames.push_back(testing::BuildFrame(dp_->ports().pool(), s));
    ASSERT_EQ(dp_->ports().sim_wire()->Send(in, frames.data(), uint16_t(frames.size())),
              frames.size());
    EXPECT_TRUE(WaitFor([&] {
      const auto now = dp_->Counters();
      return now.drops_total() + now.ports[kWan].tx_packets + now.ports[kLan].tx_packets ==
             before.drops_total() + before.ports[kWan].tx_packets + before.ports[kLan].tx_packets +
                 specs.size();
    }));
    dp_->WaitForWorkers();
    Drain(kWan);
    Drain(kLan);
  }
};

// A connection's SYN (again) and three RSTs in one burst: the connection is counted out
// of the half-open set once (it used to be removed three times, wrapping the half-open
// count, after which every SYN on the worker was dropped as half_open_limit).
TEST_F(BurstTest, ASynAndThreeRstsInOneBurstLeaveTheHalfOpenCountWhole) {
  StartWith("flood_protection { max_half_open_tcp: 10 }");
  const FrameSpec syn = Tcp("203.0.113.5", "192.0.2.80", 40000, 443, kSyn);
  ASSERT_EQ(Send(kWan, syn), kPass);
  auto rst = syn;
  rst.tcp_flags = kRst;
  Burst(kWan, {syn, rst, rst, rst});
  for (int i = 1; i <= 10; ++i)
    EXPECT_EQ(Send(kWan, Tcp("203.0.113.6", "192.0.2.80", uint16_t(41000 + i), 443, kSyn)), kPass)
        << "SYN " << i;
  EXPECT_EQ(dp_->Counters().drops[size_t(DropReason::kHalfOpenLimit)], 0u);
}

// A SYN that evicts the oldest half-open connection, and a packet of that connection
// later in the same burst: the later packet finds its connection gone (its position
// from the burst's bulk lookup is stale) and is judged afresh, not tracked on the
// freed entry.
TEST_F(BurstTest, APacketOfAConnectionEvictedEarlierInItsBurstIsJudgedAfresh) {
  StartWith("flood_protection { max_half_open_tcp: 1 }");
  const FrameSpec first = Tcp("203.0.113.5", "192.0.2.80", 40000, 443, kSyn);
  ASSERT_EQ(Send(kWan, first), kPass);
  Advance(1);
  Burst(kWan, {Tcp("203.0.113.6", "192.0.2.80", 40001, 443, kSyn),
               With(first, [](auto& s) { s.tcp_flags = kAck; })});
  EXPECT_EQ(dp_->Counters().drops[size_t(DropReason::kTcpNoState)], 1u)
      << "the evicted connection's ACK";
  EXPECT_EQ(dp_->Flows(), 1u);
}

// Two packets of a flow that new rules no longer allow, in one burst.
TEST_F(BurstTest, TwoPacketsOfAFlowNewRulesDisallowInOneBurstRemoveItOnce) {
  StartWith("conntrack { max_flows_per_source: 2 }");
  ASSERT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40000, 5060)), kPass);
  ASSERT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40001, 5060)), kPass);
  std::string moved = std::string(kBaseConfig) + "conntrack { max_flows_per_source: 2 }";
  moved.replace(moved.find("src_ports: [\"1024-65535\"]"), 25, "src_ports: [\"40001-65535\"]");
  ASSERT_TRUE(dp_->ApplyRules(Compile(moved, 2)).has_value());
  const FrameSpec gone = Udp("198.51.100.7", "192.0.2.10", 40000, 5060);
  Burst(kWan, {gone, gone});
  EXPECT_EQ(dp_->Counters().drops[size_t(DropReason::kDenied)], 2u);
  EXPECT_EQ(dp_->Flows(), 1u);
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40002, 5060)), kPass)
      << "one flow held of two";
  EXPECT_EQ(Send(kWan, Udp("198.51.100.7", "192.0.2.10", 40003, 5060)),
            Dropped(DropReason::kSourceFlowLimit));
}

// --- SYN floods --------------------------------------------------------------------------

// Spoofed SYNs from an allowed range fill the half-open table; new connections still get
// in, each evicting the oldest half-open entry, and a source holding its own share of
// half-open connections is refused more.
TEST_F(BurstTest, ASynFloodCannotBlockNewConnections) {
  StartWith("flood_protection { max_half_open_tcp: 50 max_half_open_tcp_per_source: 4 }");
  std::vector<FrameSpec> flood;
  for (int i = 0; i < 200; ++i)
    flood.push_back(Tcp(("203.0.113." + std::to_string(1 + i % 100)).c_str(), "192.0.2.80",
                        uint16_t(1000 + i), 443, kSyn));
  const BatchResult r = SendBatch(kWan, flood);
  EXPECT_EQ(r.forwarded, 200u) << "each evicts the oldest; none is refused";
  Advance(1);
  const FrameSpec client = Tcp("198.51.100.20", "192.0.2.80", 50000, 443, kSyn);
  EXPECT_EQ(Send(kWan, client), kPass);
  EXPECT_EQ(Send(kLan, With(testing::Reversed(client), [](auto& s) { s.tcp_flags = kSyn | kAck; })),
            kPass);
  EXPECT_EQ(Send(kWan, With(client, [](auto& s) { s.tcp_flags = kAck; })), kPass) << "established";

  for (uint16_t p = 0; p < 4; ++p)
    EXPECT_EQ(Send(kWan, Tcp("198.51.100.30", "192.0.2.80", uint16_t(2000 + p), 443, kSyn)), kPass);
  EXPECT_EQ(Send(kWan, Tcp("198.51.100.30", "192.0.2.80", 2004, 443, kSyn)),
            Dropped(DropReason::kSourceHalfOpenLimit));
}

// A zone's own limit: a flood from outside evicts outside's oldest, never the inside's.
TEST_F(BurstTest, AFloodFromOneZoneEvictsOnlyThatZonesHalfOpenConnections) {
  std::string config =
      std::string(kBaseConfig) +
      "rules { name: \"in-out\" from_zone: \"inside\" to_zone: \"outside\" protocol: TCP }\n";
  const std::string zone = "zones { name: \"outside\" source_sets: [\"outside-nets\"] }";
  config.replace(
      config.find(zone), zone.size(),
      "zones { name: \"outside\" source_sets: [\"outside-nets\"] max_half_open_tcp: 5 }");
  Start(&config);
  const FrameSpec inside = Tcp("192.0.2.44", "203.0.113.9", 45000, 443, kSyn);
  ASSERT_EQ(Send(kLan, inside), kPass);
  std::vector<FrameSpec> flood;
  for (int i = 0; i < 30; ++i)
    flood.push_back(Tcp("203.0.113.7", "192.0.2.80", uint16_t(3000 + i), 443, kSyn));
  EXPECT_EQ(SendBatch(kWan, flood).forwarded, 30u);
  EXPECT_EQ(Send(kWan, With(testing::Reversed(inside), [](auto& s) { s.tcp_flags = kSyn | kAck; })),
            kPass)
      << "the inside's half-open connection survived the outside's flood";
  EXPECT_EQ(Send(kLan, With(testing::Reversed(Tcp("203.0.113.7", "192.0.2.80", 3000, 443, kSyn)),
                            [](auto& s) { s.tcp_flags = kSyn | kAck; })),
            Dropped(DropReason::kTcpNoState))
      << "the outside's oldest was evicted";
}

// --- Neighbour discovery -----------------------------------------------------------------

FrameSpec Icmp6(const char* src, const char* dst, uint8_t type, uint8_t hop_limit) {
  FrameSpec s = Udp(src, dst, 0, 0);
  s.protocol = IPPROTO_ICMPV6;
  s.icmp_type = type;
  s.ttl = hop_limit;
  s.payload = 24;
  return s;
}

// ND crosses the firewall only where a rule allows it, never from beyond the link, and
// the appliance answers solicitations for its own addresses only.
TEST_F(FirewallTest, NeighbourDiscoveryCrossesOnlyWhereARuleAllowsIt) {
  // A rogue router advertisement from the WAN, and a scan of the inside by solicitation.
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::1", "2001:db8:2::7", 134, 255)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::5", "2001:db8:2::7", 135, 255)),
            Dropped(DropReason::kDenied));
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::5", "2001:db8:2::7", 133, 255)),
            Dropped(DropReason::kDenied));
  // Not sent on this link (hop limit below 255): dropped whatever the rules say.
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::5", "2001:db8:2::7", 136, 64)),
            Dropped(DropReason::kNdNotFromLink));
  FrameSpec ours = Icmp6("2001:db8:1::5", "2001:db8:2::250", 135, 64);
  ours.mutate = [t = Ip("2001:db8:2::250")](uint8_t* f, uint16_t) {
    std::memcpy(f + 14 + 40 + 8, t.data(), 16);
  };
  EXPECT_EQ(Send(kWan, ours), Dropped(DropReason::kNdNotFromLink))
      << "a solicitation for us from beyond the link";

  std::string config =
      std::string(kBaseConfig) +
      "rules { name: \"nd\" from_zone: \"outside\" to_zone: \"inside\" protocol: ICMPV6 "
      "icmp_types: [135, 136] }\n";
  ASSERT_TRUE(dp_->ApplyRules(Compile(config, 2)).has_value());
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::5", "2001:db8:2::7", 135, 255)), kPass)
      << "allowed by the rule";
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::1", "2001:db8:2::7", 134, 255)),
            Dropped(DropReason::kDenied))
      << "router advertisements are not";
  EXPECT_EQ(Send(kWan, Icmp6("2001:db8:1::5", "2001:db8:2::7", 135, 254)),
            Dropped(DropReason::kNdNotFromLink));
}

// --- Own-address replies -------------------------------------------------------------------

FrameSpec ArpRequest(const char* sender, const char* target) {
  FrameSpec s = Udp(sender, target, 0, 0);
  s.ether_type = RTE_ETHER_TYPE_ARP;
  s.mutate = [sender_ip = Ip(sender), target_ip = Ip(target)](uint8_t* f, uint16_t) {
    const uint8_t header[8] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet/IPv4, request
    std::memcpy(f + 14, header, 8);
    std::memcpy(f + 22, f + 6, 6);
    std::memcpy(f + 28, sender_ip.data(), 4);
    std::memset(f + 32, 0, 6);
    std::memcpy(f + 38, target_ip.data(), 4);
  };
  return s;
}

// A ping flood spends the echo budget, not ARP's: media to our service address keeps
// its next hop.
TEST_F(FirewallTest, ArpForOurAddressIsAnsweredDuringAPingFlood) {
  const BatchResult flood =
      SendBatch(kWan, std::vector<FrameSpec>(300, Icmp("198.51.100.7", "192.0.2.250", 8)));
  EXPECT_EQ(flood.answered, 200u);
  EXPECT_EQ(flood.Dropped(DropReason::kEchoLimited), 100u);
  const BatchResult arp =
      SendBatch(kWan, std::vector<FrameSpec>(5, ArpRequest("198.51.100.7", "192.0.2.250")));
  EXPECT_EQ(arp.answered, 5u) << "ARP answered while echo is over its rate";
  EXPECT_EQ(arp.Dropped(DropReason::kResolutionLimited), 0u);
}

// --- Zones in the flow key -------------------------------------------------------------

// A board with two bump-in-the-wire pairs, each its own zone boundary, whose inside
// networks overlap (as separate customers' would).
class TwoBoundariesTest : public FirewallTest {
 protected:
  static constexpr size_t kWan1 = 2, kLan1 = 3;
  void SetUp() override {
    board::Board board = SimBoard();
    board.set_description("sim with two port pairs");
    for (const char* port : {"wan1", "lan1"}) {
      schema::Port* p = board.add_ports();
      p->set_name(port);
      p->set_vdev(std::string("net_ring") + (port[0] == 'w' ? "2" : "3"));
    }
    schema::PortPair* pair = board.add_port_pairs();
    pair->set_a("wan1");
    pair->set_b("lan1");
    auto dp = Dataplane::Start(board, {.clock = &clock_});
    ASSERT_TRUE(dp.has_value()) << dp.error();
    dp_ = std::move(*dp);
    const char* config = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
interfaces { port: "wan1" zone: "partner" }
interfaces { port: "lan1" zone: "inside2" }
zones { name: "outside" }
zones { name: "inside" }
zones { name: "partner" }
zones { name: "inside2" }
rules { name: "sip" from_zone: "outside" to_zone: "inside" protocol: UDP dst_ports: ["5060"] }
)";
    schema::ApplianceConfig parsed;
    ASSERT_TRUE(schema::ParseText(config, "config", "test", &parsed).has_value());
    auto spec = mgmt::config::CompileConfig(
        parsed, 1, std::vector<std::string>{"wan0", "lan0", "wan1", "lan1"});
    ASSERT_TRUE(spec.has_value()) << spec.error().front();
    ASSERT_TRUE(dp_->ApplyRules(*spec).has_value());
    in_use_ = rte_mempool_in_use_count(dp_->ports().pool());
  }
  void TearDown() override {
    if (!dp_) return;
    dp_->Stop();
    for (size_t p = 0; p < 4; ++p) Drain(p);
    EXPECT_EQ(rte_mempool_in_use_count(dp_->ports().pool()), in_use_) << "leaked packet buffers";
    dp_->Close();
  }
  // Sends into `in`; passed if it left by `out`.
  Outcome Cross(size_t in, size_t out, const FrameSpec& spec) {
    const auto before = dp_->Counters();
    rte_mbuf* frame = testing::BuildFrame(dp_->ports().pool(), spec);
    EXPECT_EQ(dp_->ports().sim_wire()->Send(in, &frame, 1), 1);
    EXPECT_TRUE(WaitFor([&] {
      const auto now = dp_->Counters();
      return now.drops_total() + now.ports[out].tx_packets ==
             before.drops_total() + before.ports[out].tx_packets + 1;
    }));
    if (Drain(out) == 1) return kPass;
    const auto after = dp_->Counters();
    for (size_t r = 0; r < dataplane::kDropReasonCount; ++r)
      if (after.drops[r] != before.drops[r]) return Dropped(static_cast<DropReason>(r));
    return Outcome{false, dataplane::kNotDropped};
  }
};

TEST_F(TwoBoundariesTest, AFlowBetweenTwoZonesIsNotMatchedAcrossAnotherBoundary) {
  const FrameSpec call = Udp("198.51.100.7", "192.0.2.10", 40000, 5060);
  ASSERT_EQ(Cross(kWan, kLan, call), kPass);
  ASSERT_EQ(Cross(kLan, kWan, testing::Reversed(call)), kPass)
      << "the reply, across its own boundary";
  // The same addresses and ports on the other pair: another zone pair, no rule.
  EXPECT_EQ(Cross(kLan1, kWan1, testing::Reversed(call)), Dropped(DropReason::kDenied));
  EXPECT_EQ(Cross(kWan1, kLan1, call), Dropped(DropReason::kDenied));
}

}  // namespace
}  // namespace sbc::firmware
