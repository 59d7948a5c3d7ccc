// The firewall worker polled by the test itself, on two ring ports and a clock the test
// moves: each PollOnce() is one burst, and the expiry sweep runs only when the test
// polls, so what a burst meets is exactly what the test set up.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <string>
#include <vector>

#include "sbc/dataplane/worker/worker.h"
#include "support/packet_builder.h"
#include "support/rules.h"

namespace sbc::dataplane {
namespace {

using testing::FrameSpec;
using testing::Ip;

FrameSpec Udp(const char* src, const char* dst, uint16_t sport, uint16_t dport) {
  FrameSpec s;
  s.src_ip = Ip(src);
  s.dst_ip = Ip(dst);
  s.src_port = sport;
  s.dst_port = dport;
  return s;
}

class FirewallWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string id = std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(("fwt_pool" + id).c_str(), 1023, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);
    for (int p = 0; p < 2; ++p) {
      rx_[p] = rte_ring_create(("fwt_rx" + id + "_" + std::to_string(p)).c_str(), 256, 0,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx_[p] = rte_ring_create(("fwt_tx" + id + "_" + std::to_string(p)).c_str(), 256, 0,
                               RING_F_SP_ENQ | RING_F_SC_DEQ);
      ASSERT_NE(rx_[p], nullptr);
      ASSERT_NE(tx_[p], nullptr);
      const int port = rte_eth_from_rings(("fwt_port" + id + "_" + std::to_string(p)).c_str(),
                                          &rx_[p], 1, &tx_[p], 1, 0);
      ASSERT_GE(port, 0);
      port_[p] = uint16_t(port);
      rte_eth_conf conf{};
      ASSERT_EQ(rte_eth_dev_configure(port_[p], 1, 1, &conf), 0);
      ASSERT_EQ(rte_eth_rx_queue_setup(port_[p], 0, 256, 0, nullptr, pool_), 0);
      ASSERT_EQ(rte_eth_tx_queue_setup(port_[p], 0, 256, 0, nullptr), 0);
      ASSERT_EQ(rte_eth_dev_start(port_[p]), 0);
    }
    auto slot = FirewallTableSlot::Create(1);
    ASSERT_TRUE(slot.has_value()) << slot.error();
    slot_ = std::move(*slot);
    const WireLink links[2] = {
        {.rx_port_id = port_[0], .tx_port_id = port_[1], .rx_slot = 0, .tx_slot = 1},
        {.rx_port_id = port_[1], .tx_port_id = port_[0], .rx_slot = 1, .tx_slot = 0}};
    auto worker = Worker::Create(links, *slot_, 0, 1024, nullptr, &clock_);
    ASSERT_TRUE(worker.has_value()) << worker.error();
    worker_ = std::move(*worker);
  }
  void TearDown() override {
    worker_.reset();
    slot_.reset();
    for (int p = 0; p < 2; ++p) {
      rte_eth_dev_stop(port_[p]);
      rte_eth_dev_close(port_[p]);
      Take(tx_[p]);
      rte_ring_free(rx_[p]);
      rte_ring_free(tx_[p]);
    }
    rte_mempool_free(pool_);
  }
  void Publish(const RuleTableSpec& spec) {
    auto tables = FirewallTables::Build(spec, 1, rte_get_tsc_hz());
    ASSERT_TRUE(tables.has_value()) << tables.error();
    slot_->Publish(std::move(*tables));
  }
  static size_t Take(rte_ring* ring) {
    void* m;
    size_t n = 0;
    while (rte_ring_dequeue(ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      ++n;
    }
    return n;
  }
  // One poll with `specs` waiting on port 0: how many crossed to port 1.
  size_t Poll(const std::vector<FrameSpec>& specs) {
    for (const FrameSpec& s : specs)
      EXPECT_EQ(rte_ring_enqueue(rx_[0], testing::BuildFrame(pool_, s)), 0);
    worker_->PollOnce();
    return Take(tx_[1]);
  }
  uint64_t Dropped(DropReason r) const { return worker_->counters().drops[size_t(r)]; }
  void Advance(double seconds) { clock_ += uint64_t(seconds * double(rte_get_tsc_hz())); }

  rte_mempool* pool_ = nullptr;
  rte_ring* rx_[2] = {};
  rte_ring* tx_[2] = {};
  uint16_t port_[2] = {};
  std::unique_ptr<FirewallTableSlot> slot_;
  std::unique_ptr<Worker> worker_;
  std::atomic<uint64_t> clock_{rte_get_tsc_cycles()};
};

// Two packets of a flow that expired arrive in one burst, before the sweep met the
// flow: both find its position; it is removed once and opened again, so its source is
// not credited twice and cannot then hold more flows than its limit.
TEST_F(FirewallWorkerTest, TwoPacketsOfAnExpiredFlowInOneBurstRemoveItOnce) {
  RuleTableSpec spec = sbc::testing::AllowAllRules();
  spec.conntrack.max_flows_per_source = 2;
  spec.conntrack.udp_timeout_s = 10;
  Publish(spec);
  const FrameSpec a = Udp("198.51.100.7", "192.0.2.10", 40000, 5060);
  ASSERT_EQ(Poll({a}), 1u);
  Advance(11);
  ASSERT_EQ(Poll({Udp("198.51.100.7", "192.0.2.10", 40001, 5060)}), 1u)
      << "a has expired but is still held";
  ASSERT_EQ(worker_->flows(), 2u)
      << "the sweep has not met a yet (it looks at 64 positions a poll)";
  EXPECT_EQ(Poll({a, a}), 2u);
  EXPECT_EQ(worker_->flows(), 2u);
  EXPECT_EQ(Poll({Udp("198.51.100.7", "192.0.2.10", 40002, 5060)}), 0u);
  EXPECT_EQ(Dropped(DropReason::kSourceFlowLimit), 1u) << "the source holds two flows, its limit";
}

// The rules are in force from the first poll; a worker without tables drops all.
TEST_F(FirewallWorkerTest, WithoutTablesEverythingIsDropped) {
  EXPECT_EQ(Poll({Udp("198.51.100.7", "192.0.2.10", 40000, 5060)}), 0u);
  EXPECT_EQ(Dropped(DropReason::kNoRuleSet), 1u);
  Publish(sbc::testing::AllowAllRules());
  EXPECT_EQ(Poll({Udp("198.51.100.7", "192.0.2.10", 40000, 5060)}), 1u);
}

}  // namespace
}  // namespace sbc::dataplane
