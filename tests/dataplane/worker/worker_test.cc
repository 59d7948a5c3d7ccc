// The firewall worker polled by the test itself, on two ring ports and a clock the test
// moves: each PollOnce() is one burst, and the expiry sweep runs only when the test
// polls, so what a burst meets is exactly what the test set up.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <atomic>
#include <string>
#include <vector>

#include "sbc/dataplane/worker/worker.h"
#include "support/packet_builder.h"
#include "support/ring_ports.h"
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
    ports_.Open("fwt" + id, pool_);
    if (HasFatalFailure()) return;
    auto slot = FirewallTableSlot::Create(1);
    ASSERT_TRUE(slot.has_value()) << slot.error();
    slot_ = std::move(*slot);
    const std::array<WireLink, 2> links = ports_.CrossLinks();
    auto worker = Worker::Create(links, *slot_, 0, 1024, nullptr, &clock_);
    ASSERT_TRUE(worker.has_value()) << worker.error();
    worker_ = std::move(*worker);
  }
  void TearDown() override {
    worker_.reset();
    slot_.reset();
    ports_.Close();
    rte_mempool_free(pool_);
  }
  void Publish(const RuleTableSpec& spec) {
    auto tables = FirewallTables::Build(spec, 1, rte_get_tsc_hz());
    ASSERT_TRUE(tables.has_value()) << tables.error();
    slot_->Publish(std::move(*tables));
  }
  static size_t Take(rte_ring* ring) { return testing::RingPorts::FreeAll(ring); }
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
  testing::RingPorts ports_;
  rte_ring* (&rx_)[2] = ports_.rx;
  rte_ring* (&tx_)[2] = ports_.tx;
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
