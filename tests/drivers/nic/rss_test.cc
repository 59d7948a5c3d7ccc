// Symmetric RSS: a flow and its reply hash alike, so both reach the same worker.
#include <gtest/gtest.h>
#include <rte_mbuf.h>

#include <netinet/in.h>

#include <random>
#include <set>

#include "sbc/drivers/nic/rss.h"
#include "support/packet_builder.h"

namespace sbc::drivers::nic {
namespace {

using sbc::testing::BuildFrame;
using sbc::testing::FrameSpec;
using sbc::testing::Reversed;

class RssTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = rte_pktmbuf_pool_create(("rss_test_" + std::to_string(counter_++)).c_str(), 1023, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override { rte_mempool_free(pool_); }

  uint32_t Hash(const FrameSpec& spec) {
    rte_mbuf* frame = BuildFrame(pool_, spec);
    EXPECT_NE(frame, nullptr);
    const uint32_t hash = SymmetricFlowHash(frame);
    rte_pktmbuf_free(frame);
    return hash;
  }

  FrameSpec RandomSpec(bool ipv6, uint8_t protocol) {
    FrameSpec spec{.ipv6 = ipv6, .protocol = protocol};
    for (auto& b : spec.src_ip) b = static_cast<uint8_t>(rng_());
    for (auto& b : spec.dst_ip) b = static_cast<uint8_t>(rng_());
    spec.src_port = static_cast<uint16_t>(rng_());
    spec.dst_port = static_cast<uint16_t>(rng_());
    return spec;
  }

  static inline int counter_ = 0;
  rte_mempool* pool_ = nullptr;
  std::mt19937 rng_{12345};
};

TEST_F(RssTest, ReplyHashesLikeTheFlowForEveryFamilyAndProtocol) {
  for (bool ipv6 : {false, true}) {
    for (uint8_t protocol : {uint8_t{IPPROTO_UDP}, uint8_t{IPPROTO_TCP}}) {
      for (int i = 0; i < 500; ++i) {
        const FrameSpec spec = RandomSpec(ipv6, protocol);
        EXPECT_EQ(Hash(spec), Hash(Reversed(spec)))
            << (ipv6 ? "IPv6" : "IPv4") << " proto " << int(protocol) << " case " << i;
      }
    }
  }
}

TEST_F(RssTest, VlanTaggedFramesHashOnTheInnerTuple) {
  FrameSpec spec = RandomSpec(false, IPPROTO_UDP);
  const uint32_t untagged = Hash(spec);
  spec.vlan = 100;
  EXPECT_EQ(Hash(spec), untagged);
  EXPECT_EQ(Hash(Reversed(spec)), untagged);
}

TEST_F(RssTest, PortsTakePartInTheHash) {
  FrameSpec spec = RandomSpec(false, IPPROTO_UDP);
  const uint32_t before = Hash(spec);
  spec.src_port = static_cast<uint16_t>(spec.src_port + 1);
  EXPECT_NE(Hash(spec), before);
}

TEST_F(RssTest, FlowsSpreadOverQueues) {
  constexpr uint32_t kQueues = 4;
  std::array<int, kQueues> per_queue{};
  for (int i = 0; i < 4000; ++i) ++per_queue[Hash(RandomSpec(false, IPPROTO_UDP)) % kQueues];
  for (int count : per_queue) EXPECT_GT(count, 700) << "queue load is badly skewed";
}

TEST_F(RssTest, NonIpAndTruncatedFramesHashToZero) {
  rte_mbuf* frame = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(frame, nullptr);
  ASSERT_NE(rte_pktmbuf_append(frame, 6), nullptr);  // shorter than an Ethernet header
  EXPECT_EQ(SymmetricFlowHash(frame), 0u);
  rte_pktmbuf_free(frame);
}

}  // namespace
}  // namespace sbc::drivers::nic
