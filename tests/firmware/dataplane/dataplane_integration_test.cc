// The dataplane on in-memory ring ports: frames injected at one port's far end come
// out of its peer's far end, byte counts and counters match, drops are counted by
// reason, a stop drains, and no packet buffer leaks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <chrono>
#include <map>
#include <thread>
#include <unordered_map>

#include "sbc/drivers/nic/sim_traffic.h"
#include "sbc/drivers/sanitizer/handoff.h"
#include "sbc/firmware/dataplane.h"
#include "sbc/firmware/sim_traffic_run.h"
#include "support/rules.h"

namespace sbc::firmware {
namespace {

using dataplane::DropReason;
using drivers::nic::Direction;
using drivers::nic::SimTraffic;
using drivers::nic::SimWire;
using ::testing::HasSubstr;

constexpr size_t kWan = 0;
constexpr size_t kLan = 1;

board::Board SimBoard(int workers) {
  auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
  EXPECT_TRUE(board.has_value());
  board::Board b = board.value_or(board::Board{});
  b.mutable_cpu()->clear_worker_cores();
  for (int w = 1; w <= workers; ++w) b.mutable_cpu()->add_worker_cores(w);
  return b;
}

// "denied=3 runt_frame=1": the non-zero drop counters, for failure messages.
std::string DropSummary(const Dataplane& dp) {
  std::string out;
  const auto totals = dp.Counters();
  for (size_t r = 0; r < dataplane::kDropReasonCount; ++r)
    if (totals.drops[r] != 0)
      out += std::string(dataplane::DropReasonName(static_cast<DropReason>(r))) + "=" +
             std::to_string(totals.drops[r]) + " ";
  return out.empty() ? "none" : out;
}

uint64_t Drops(const Dataplane& dp, DropReason reason) {
  return dp.Counters().drops[static_cast<size_t>(reason)];
}

// Waits until `done` holds; the deadline only bounds a failing test (a loaded machine
// is slow, not stuck).
template <typename Predicate>
bool WaitFor(Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class DataplaneIntegrationTest : public ::testing::Test {
 protected:
  void StartWith(int workers) {
    auto dp = Dataplane::Start(SimBoard(workers));
    ASSERT_TRUE(dp.has_value()) << dp.error();
    dp_ = std::move(*dp);
    ASSERT_TRUE(dp_->ApplyRules(testing::AllowAllRules()).has_value());
    wire_ = dp_->ports().sim_wire();
    ASSERT_NE(wire_, nullptr);
    in_use_at_start_ = rte_mempool_in_use_count(dp_->ports().pool());
  }

  void TearDown() override {
    if (!dp_) return;
    dp_->Stop();
    for (size_t port = 0; port < wire_->size(); ++port) FreeAll(Collect(port));
    // Every buffer the test and the dataplane took is back in the pool.
    EXPECT_EQ(rte_mempool_in_use_count(dp_->ports().pool()), in_use_at_start_);
    dp_->Close();
  }

  // Sends all of `frames` into `port`, retrying while its RX rings are full.
  void SendAll(size_t port, std::vector<rte_mbuf*> frames) {
    size_t done = 0;
    ASSERT_TRUE(WaitFor([&] {
      done += wire_->Send(port, frames.data() + done,
                          static_cast<uint16_t>(std::min<size_t>(32, frames.size() - done)));
      return done == frames.size();
    }));
  }

  std::vector<rte_mbuf*> Collect(size_t port) {
    std::vector<rte_mbuf*> out;
    rte_mbuf* burst[32];
    uint16_t n;
    while ((n = wire_->Receive(port, burst, 32)) != 0) out.insert(out.end(), burst, burst + n);
    return out;
  }

  static void FreeAll(const std::vector<rte_mbuf*>& frames) {
    for (rte_mbuf* f : frames) rte_pktmbuf_free(f);
  }

  std::unique_ptr<Dataplane> dp_;
  SimWire* wire_ = nullptr;
  unsigned in_use_at_start_ = 0;
};

TEST_F(DataplaneIntegrationTest, MixedSizeFramesCrossInBothDirectionsExactlyOnce) {
  StartWith(1);
  constexpr uint64_t kPerDirection = 30000;
  constexpr uint64_t kWindow = 512;  // below every ring's size: nothing may be dropped
  SimTraffic traffic(dp_->ports().pool(), 257);
  struct Expected {
    size_t out_port;
    uint32_t length;
  };
  std::unordered_map<uint64_t, Expected> expected;
  std::array<uint64_t, 2> sent{}, sent_bytes{}, arrived{};
  uint64_t in_flight = 0;
  rte_mbuf* burst[16];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);

  while (sent[kWan] < kPerDirection || sent[kLan] < kPerDirection || in_flight != 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << in_flight << " frames never arrived; drops: " << dp_->Counters().drops_total();
    for (size_t in : {kWan, kLan}) {
      if (sent[in] == kPerDirection || in_flight + 16 > kWindow) continue;
      const uint16_t n =
          traffic.Build(in == kWan ? Direction::kForward : Direction::kReply, burst, 16);
      ASSERT_EQ(n, 16);
      for (uint16_t i = 0; i < n; ++i) {
        expected[*SimTraffic::Sequence(burst[i])] = {in == kWan ? kLan : kWan, burst[i]->pkt_len};
        sent_bytes[in] += burst[i]->pkt_len;
      }
      SendAll(in, {burst, burst + n});
      sent[in] += n;
      in_flight += n;
    }
    for (size_t out : {kWan, kLan}) {
      for (rte_mbuf* frame : Collect(out)) {
        const auto seq = SimTraffic::Sequence(frame);
        ASSERT_TRUE(seq.has_value()) << "a frame we never sent came out of port " << out;
        const auto it = expected.find(*seq);
        ASSERT_NE(it, expected.end()) << "frame " << *seq << " arrived twice";
        EXPECT_EQ(it->second.out_port, out) << "frame " << *seq << " left by the wrong port";
        EXPECT_EQ(it->second.length, frame->pkt_len) << "frame " << *seq << " changed size";
        expected.erase(it);
        ++arrived[out];
        --in_flight;
        rte_pktmbuf_free(frame);
      }
    }
  }
  EXPECT_TRUE(expected.empty());
  EXPECT_EQ(arrived[kLan], kPerDirection);
  EXPECT_EQ(arrived[kWan], kPerDirection);

  const dataplane::CounterTotals c = dp_->Counters();
  EXPECT_EQ(c.ports[kWan].rx_packets, kPerDirection);
  EXPECT_EQ(c.ports[kLan].tx_packets, kPerDirection);
  EXPECT_EQ(c.ports[kWan].rx_bytes, sent_bytes[kWan]);
  EXPECT_EQ(c.ports[kLan].tx_bytes, sent_bytes[kWan]);
  EXPECT_EQ(c.ports[kLan].rx_packets, kPerDirection);
  EXPECT_EQ(c.ports[kWan].tx_packets, kPerDirection);
  EXPECT_EQ(c.ports[kLan].rx_bytes, sent_bytes[kLan]);
  EXPECT_EQ(c.drops_total(), 0u);
  // The device's own counters agree with ours.
  auto wan_dev = dp_->ports().Stats(kWan);
  ASSERT_TRUE(wan_dev.has_value());
  EXPECT_EQ(wan_dev->rx_packets, kPerDirection);
  EXPECT_EQ(wan_dev->tx_packets, kPerDirection);
}

TEST_F(DataplaneIntegrationTest, RuntFramesAreDroppedAndCountedByReason) {
  StartWith(1);
  constexpr uint64_t kFrames = 7000;
  SimTraffic traffic(dp_->ports().pool(), 16, /*runt_every=*/7);
  uint64_t arrived = 0;
  rte_mbuf* burst[32];
  for (uint64_t sent = 0; sent < kFrames; sent += 28) {
    ASSERT_EQ(traffic.Build(Direction::kForward, burst, 28), 28);
    SendAll(kWan, {burst, burst + 28});
    const auto out = Collect(kLan);
    arrived += out.size();
    FreeAll(out);
  }
  ASSERT_TRUE(WaitFor([&] {
    const auto out = Collect(kLan);
    arrived += out.size();
    FreeAll(out);
    return arrived + Drops(*dp_, DropReason::kRuntFrame) == kFrames;
  }));
  EXPECT_EQ(Drops(*dp_, DropReason::kRuntFrame), kFrames / 7);
  EXPECT_EQ(arrived, kFrames - kFrames / 7);
  EXPECT_EQ(dp_->Counters().ports[kWan].rx_packets, kFrames);
  EXPECT_EQ(dp_->Counters().ports[kLan].tx_packets, arrived);
}

TEST_F(DataplaneIntegrationTest, FullTransmitQueueDropsAreCountedAndTheRestArrive) {
  StartWith(1);
  // More than the egress ring holds, with nobody draining it.
  constexpr uint64_t kFrames = 3000;
  const uint64_t tx_ring = rte_ring_get_capacity(wire_->tx_rings(kLan)[0]);
  SimTraffic traffic(dp_->ports().pool(), 16);
  std::vector<rte_mbuf*> frames(kFrames);
  ASSERT_EQ(traffic.Build(Direction::kForward, frames.data(), kFrames), kFrames);
  SendAll(kWan, frames);
  // RX is counted before a burst's fate: wait until every frame is either sent or dropped.
  ASSERT_TRUE(WaitFor([&] {
    const auto c = dp_->Counters();
    return c.ports[kLan].tx_packets + c.drops_total() == kFrames;
  }));
  const auto out = Collect(kLan);
  FreeAll(out);
  EXPECT_EQ(out.size(), tx_ring);
  EXPECT_EQ(Drops(*dp_, DropReason::kTxQueueFull), kFrames - tx_ring);
  EXPECT_EQ(dp_->Counters().ports[kLan].tx_packets, tx_ring);
}

TEST_F(DataplaneIntegrationTest, StopDrainsFramesAlreadyReceived) {
  StartWith(1);
  SimTraffic traffic(dp_->ports().pool(), 16);
  std::vector<rte_mbuf*> frames(1000);
  ASSERT_EQ(traffic.Build(Direction::kForward, frames.data(), 1000), 1000);
  SendAll(kWan, frames);
  dp_->Stop();
  EXPECT_EQ(wire_->PendingRx(kWan), 0u);
  const auto out = Collect(kLan);
  FreeAll(out);
  EXPECT_EQ(out.size(), 1000u);
}

// Reads the client address and port of a sim frame: the flow's identity whichever way
// the frame travels.
std::pair<uint32_t, uint16_t> ClientOf(const rte_mbuf* frame, Direction direction) {
  const auto* ip = rte_pktmbuf_mtod_offset(frame, const rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  const auto* ports = reinterpret_cast<const rte_be16_t*>(ip + 1);
  return direction == Direction::kForward ? std::pair{ip->src_addr, ports[0]}
                                          : std::pair{ip->dst_addr, ports[1]};
}

TEST_F(DataplaneIntegrationTest, TwoWorkersKeepBothDirectionsOfAFlowOnOneQueue) {
  StartWith(2);
  SimTraffic forward(dp_->ports().pool(), 64), reply(dp_->ports().pool(), 64);
  std::vector<rte_mbuf*> a(640), b(640);
  ASSERT_EQ(forward.Build(Direction::kForward, a.data(), 640), 640);
  ASSERT_EQ(reply.Build(Direction::kReply, b.data(), 640), 640);
  SendAll(kWan, a);
  SendAll(kLan, b);
  ASSERT_TRUE(WaitFor([&] {
    const auto c = dp_->Counters();
    return c.ports[kLan].tx_packets + c.ports[kWan].tx_packets == 1280;
  })) << "forwarded "
      << dp_->Counters().ports[kLan].tx_packets << " + " << dp_->Counters().ports[kWan].tx_packets
      << ", dropped " << DropSummary(*dp_);

  // Which TX queue each direction of each flow left by.
  std::map<std::pair<uint32_t, uint16_t>, std::array<int, 2>> queue_of;
  std::array<int, 2> per_queue{};
  for (auto [out, direction] :
       {std::pair{kLan, Direction::kForward}, std::pair{kWan, Direction::kReply}}) {
    for (uint16_t q = 0; q < 2; ++q) {
      rte_mbuf* frame;
      while (rte_ring_dequeue(wire_->tx_rings(out)[q], reinterpret_cast<void**>(&frame)) == 0) {
        drivers::sanitizer::TakeOver(frame);  // sent by a worker through net_ring's tx
        auto& queues =
            queue_of.try_emplace(ClientOf(frame, direction), std::array{-1, -1}).first->second;
        int& seen = queues[direction == Direction::kForward ? 0 : 1];
        EXPECT_TRUE(seen == -1 || seen == q) << "one direction of a flow used two queues";
        seen = q;
        ++per_queue[q];
        rte_pktmbuf_free(frame);
      }
    }
  }
  EXPECT_EQ(queue_of.size(), 64u);
  for (const auto& [flow, queues] : queue_of)
    EXPECT_EQ(queues[0], queues[1]) << "a flow and its reply went to different workers";
  EXPECT_GT(per_queue[0], 0);
  EXPECT_GT(per_queue[1], 0);
}

TEST_F(DataplaneIntegrationTest, SimTrafficRunAccountsForEveryFrame) {
  StartWith(1);
  std::atomic<bool> stop{false};
  auto result = RunSimTraffic(*dp_, {.frames = 200000, .flows = 1000, .runt_every = 100}, stop);
  ASSERT_TRUE(result.has_value()) << result.error();
  EXPECT_EQ(result->sent, 200000u);
  EXPECT_EQ(result->mismatched, 0u);
  EXPECT_EQ(Drops(*dp_, DropReason::kRuntFrame), 2000u);
  EXPECT_EQ(result->arrived, 198000u);
  EXPECT_FALSE(dp_->running());
}

// A booting appliance finds frames waiting on its ports: the rules its --config named
// are in force before the first poll, so none is dropped as no_rule_set.
TEST(DataplaneStartTest, RulesGivenAtStartJudgeTheFirstFramesPolled) {
  const dataplane::RuleTableSpec rules = testing::AllowAllRules();
  size_t queued = 0;
  auto dp = Dataplane::Start(SimBoard(1),
                             {.initial_rules = &rules, .before_workers = [&](Dataplane& d) {
                                EXPECT_EQ(d.rules_version(), 1u);
                                SimTraffic frames(d.ports().pool(), 64);
                                rte_mbuf* burst[32];
                                const uint16_t n = frames.Build(Direction::kForward, burst, 32);
                                queued = d.ports().sim_wire()->Send(kWan, burst, n);
                                ASSERT_EQ(queued, n);
                              }});
  ASSERT_TRUE(dp.has_value()) << dp.error();
  ASSERT_EQ(queued, 32u);
  EXPECT_TRUE(WaitFor([&] {
    return (*dp)->Counters().ports[kLan].tx_packets + (*dp)->Counters().drops_total() == 32;
  }));
  EXPECT_EQ((*dp)->Counters().ports[kLan].tx_packets, 32u) << DropSummary(**dp);
  EXPECT_EQ(Drops(**dp, DropReason::kNoRuleSet), 0u);
  (*dp)->Stop();
  rte_mbuf* out[32];
  uint16_t n;
  while ((n = (*dp)->ports().sim_wire()->Receive(kLan, out, 32)) != 0)
    rte_pktmbuf_free_bulk(out, n);
  (*dp)->Close();
}

TEST(DataplaneStartTest, MissingDeviceFailsCleanlyNamingThePort) {
  board::Board board = SimBoard(1);
  board.mutable_ports(0)->set_vdev("net_null9");  // EAL was never given this device
  auto dp = Dataplane::Start(board);
  ASSERT_FALSE(dp.has_value());
  EXPECT_THAT(dp.error(), HasSubstr("port wan0 (net_null9): device was not probed"));
  EXPECT_EQ(rte_mempool_lookup("sbc_mbufs_sim"), nullptr) << "the failed start leaked its pool";
}

TEST(DataplaneStartTest, WorkerOnADisabledLcoreFailsCleanly) {
  board::Board board = SimBoard(1);
  board.mutable_cpu()->set_worker_cores(0, 40);  // not an EAL lcore in this process
  auto dp = Dataplane::Start(board);
  ASSERT_FALSE(dp.has_value());
  EXPECT_THAT(dp.error(),
              HasSubstr("cpu.worker_cores[0]: lcore 40 is not a free EAL worker lcore"));
  EXPECT_EQ(rte_mempool_lookup("sbc_mbufs_sim"), nullptr);
}

}  // namespace
}  // namespace sbc::firmware
