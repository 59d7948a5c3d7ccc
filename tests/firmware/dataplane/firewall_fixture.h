// The firewall integration tests' fixture: the dataplane on the sim board (ring ports,
// real workers) on a clock the test moves, crafted packets in at one port's far end,
// and for each what became of it: out of the peer port, or which drop counter took it.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "sbc/firmware/dataplane.h"
#include "sbc/mgmt/config/compile.h"
#include "sbc/schema/text_file.h"
#include "support/packet_builder.h"

namespace sbc::firmware {

using dataplane::DropReason;
using testing::FrameSpec;
using testing::Ip;

constexpr size_t kWan = 0, kLan = 1;

constexpr char kBaseConfig[] = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
zones { name: "outside" source_sets: ["outside-nets"] }
zones { name: "inside" source_sets: ["inside-nets"] }
prefix_sets { name: "outside-nets" prefixes: ["198.51.100.0/24", "203.0.113.0/24", "2001:db8:1::/48"] }
prefix_sets { name: "inside-nets" prefixes: ["192.0.2.0/24", "2001:db8:2::/48"] }
rules { name: "sip" from_zone: "outside" to_zone: "inside" src_prefixes: ["198.51.100.0/24"]
        dst_prefixes: ["192.0.2.10"] protocol: UDP src_ports: ["1024-65535"] dst_ports: ["5060"] }
rules { name: "https6" from_zone: "outside" to_zone: "inside" src_prefixes: ["2001:db8:1::/48"]
        dst_prefixes: ["2001:db8:2::80"] protocol: TCP dst_ports: ["443"] }
rules { name: "https4" from_zone: "outside" to_zone: "inside" src_sets: ["outside-nets"]
        dst_prefixes: ["192.0.2.80"] protocol: TCP dst_ports: ["443"] }
rules { name: "ping" from_zone: "outside" to_zone: "inside" protocol: ICMP icmp_types: [8] log: true }
rules { name: "frag-ok" from_zone: "outside" to_zone: "inside" src_prefixes: ["203.0.113.0/24"]
        dst_prefixes: ["192.0.2.20"] protocol: UDP dst_ports: ["9000"] allow_fragments: true }
rules { name: "any-proto" from_zone: "outside" to_zone: "inside" src_prefixes: ["203.0.113.99"]
        dst_prefixes: ["192.0.2.99"] }
media { service_addresses: ["192.0.2.250", "2001:db8:2::250"] port_min: 20000 port_max: 30000 }
rules { name: "limited" from_zone: "outside" to_zone: "inside" src_prefixes: ["203.0.113.0/24"]
        dst_prefixes: ["192.0.2.30"] protocol: UDP dst_ports: ["7000"]
        rate_limit { packets_per_second: 1 burst: 5 } }
)";

inline board::Board SimBoard() {
  auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
  EXPECT_TRUE(board.has_value());
  return board.value_or(board::Board{});
}

inline dataplane::RuleTableSpec Compile(const std::string& text, uint64_t version = 1) {
  schema::ApplianceConfig config;
  EXPECT_TRUE(schema::ParseText(text, "config", "test", &config).has_value());
  auto spec =
      mgmt::config::CompileConfig(config, version, std::vector<std::string>{"wan0", "lan0"});
  EXPECT_TRUE(spec.has_value()) << (spec ? "" : spec.error().front());
  return spec.value_or(dataplane::RuleTableSpec{});
}

// Waits for an event; the deadline only bounds a test that is failing.
template <typename Predicate>
bool WaitFor(Predicate done, int seconds = 300) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

// What became of one packet.
struct Outcome {
  bool passed = false;
  DropReason reason = dataplane::kNotDropped;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};
constexpr Outcome kPass{true, dataplane::kNotDropped};
inline Outcome Dropped(DropReason r) { return {false, r}; }

inline void PrintTo(const Outcome& o, std::ostream* os) {
  *os << (o.passed ? std::string("passed")
                   : "dropped as " + std::string(dataplane::DropReasonName(o.reason)));
}

// The dataplane on the sim board with `config`'s rules, on a clock of the test's own:
// time stands still (meters do not refill, flows do not age) until Advance() moves it.
class FirewallTest : public ::testing::Test {
 protected:
  void Start(const std::string* config = nullptr) {
    auto dp = Dataplane::Start(SimBoard(), {.clock = &clock_});
    ASSERT_TRUE(dp.has_value()) << dp.error();
    dp_ = std::move(*dp);
    if (config != nullptr) {
      ASSERT_TRUE(dp_->ApplyRules(Compile(*config)).has_value());
    }
    in_use_ = rte_mempool_in_use_count(dp_->ports().pool());
  }
  void SetUp() override {
    const std::string base = kBaseConfig;
    Start(&base);
  }
  void TearDown() override {
    if (!dp_) return;
    dp_->Stop();
    Drain(kWan);
    Drain(kLan);
    EXPECT_EQ(rte_mempool_in_use_count(dp_->ports().pool()), in_use_) << "leaked packet buffers";
    dp_->Close();
  }
  size_t Drain(size_t port) {
    rte_mbuf* frames[32];
    size_t total = 0;
    uint16_t n;
    while ((n = dp_->ports().sim_wire()->Receive(port, frames, 32)) != 0) {
      rte_pktmbuf_free_bulk(frames, n);
      total += n;
    }
    return total;
  }

  // Sends one frame into `in` and reports what happened to it.
  Outcome Send(size_t in, const FrameSpec& spec) {
    const size_t out = in == kWan ? kLan : kWan;
    const auto before = dp_->Counters();
    rte_mbuf* frame = testing::BuildFrame(dp_->ports().pool(), spec);
    EXPECT_NE(frame, nullptr);
    EXPECT_EQ(dp_->ports().sim_wire()->Send(in, &frame, 1), 1);
    const bool settled = WaitFor([&] {
      const auto now = dp_->Counters();
      return now.drops_total() + now.ports[out].tx_packets ==
             before.drops_total() + before.ports[out].tx_packets + 1;
    });
    EXPECT_TRUE(settled) << "the packet was neither forwarded nor counted as dropped";
    const auto after = dp_->Counters();
    if (Drain(out) == 1) return kPass;
    for (size_t r = 0; r < dataplane::kDropReasonCount; ++r)
      if (after.drops[r] != before.drops[r]) return Dropped(static_cast<DropReason>(r));
    return Outcome{false, dataplane::kNotDropped};
  }

  // What became of a batch sent back to back (so a meter cannot refill meanwhile).
  struct BatchResult {
    uint64_t forwarded = 0;  // out of the peer port
    uint64_t answered = 0;   // back out of the ingress port
    dataplane::CounterTotals drops_before, drops_after;
    uint64_t Dropped(DropReason r) const {
      return drops_after.drops[size_t(r)] - drops_before.drops[size_t(r)];
    }
  };
  BatchResult SendBatch(size_t in, const std::vector<FrameSpec>& specs) {
    const size_t out = in == kWan ? kLan : kWan;
    BatchResult result;
    result.drops_before = dp_->Counters();
    const auto& b = result.drops_before;
    std::vector<rte_mbuf*> frames;
    for (const FrameSpec& spec : specs)
      frames.push_back(testing::BuildFrame(dp_->ports().pool(), spec));
    size_t sent = 0;
    EXPECT_TRUE(WaitFor([&] {
      sent += dp_->ports().sim_wire()->Send(in, frames.data() + sent,
                                            uint16_t(std::min<size_t>(32, frames.size() - sent)));
      return sent == frames.size();
    }));
    EXPECT_TRUE(WaitFor([&] {
      const auto now = dp_->Counters();
      return now.drops_total() + now.ports[out].tx_packets + now.ports[in].tx_packets ==
             b.drops_total() + b.ports[out].tx_packets + b.ports[in].tx_packets + specs.size();
    }));
    result.drops_after = dp_->Counters();
    result.forwarded = Drain(out);
    result.answered = Drain(in);
    return result;
  }

  // Moves the workers' clock on by `seconds`; every packet sent after this sees it.
  void Advance(double seconds) {
    clock_.fetch_add(static_cast<uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz())));
    dp_->WaitForWorkers();
  }

  std::atomic<uint64_t> clock_{rte_get_tsc_cycles()};
  std::unique_ptr<Dataplane> dp_;
  unsigned in_use_ = 0;
};

inline FrameSpec Udp(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  FrameSpec s;
  s.ipv6 = std::string(src).find(':') != std::string::npos;
  s.src_ip = Ip(src);
  s.dst_ip = Ip(dst);
  s.protocol = IPPROTO_UDP;
  s.src_port = sport;
  s.dst_port = dport;
  return s;
}
inline FrameSpec Tcp(const char* src, const char* dst, uint16_t sport, uint16_t dport,
                     uint8_t flags) {
  FrameSpec s = Udp(src, dst, sport, dport);
  s.protocol = IPPROTO_TCP;
  s.tcp_flags = flags;
  return s;
}
inline FrameSpec Icmp(const char* src, const char* dst, uint8_t type) {
  FrameSpec s = Udp(src, dst, 0, 0);
  s.protocol = IPPROTO_ICMP;
  s.icmp_type = type;
  return s;
}
template <typename F>
FrameSpec With(FrameSpec s, F edit) {
  edit(s);
  return s;
}
inline FrameSpec Sip() { return Udp("198.51.100.7", "192.0.2.10", 40000, 5060); }
constexpr uint8_t kSyn = 0x02, kAck = 0x10, kRst = 0x04, kPsh = 0x08;
constexpr int kIp = 14;  // IPv4/IPv6 header offset in an untagged frame

}  // namespace sbc::firmware
