// The packet-buffer pool is sized so no queue or ring can starve.
#include <gtest/gtest.h>

#include "sbc/drivers/nic/mbuf_pool.h"

namespace sbc::drivers::nic {
namespace {

board::Board Sim() {
  auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
  EXPECT_TRUE(board.has_value());
  return board.value_or(board::Board{});
}

TEST(MbufPoolSizeTest, CoversEveryDescriptorBurstAndCache) {
  const board::Board board = Sim();
  for (uint16_t queues : {1, 2, 4}) {
    uint64_t needed = 0;
    for (const auto& port : board.ports())
      needed += uint64_t{queues} * (board::RxDescriptors(port) + board::TxDescriptors(port));
    needed += uint64_t(board.cpu().worker_cores_size() + 1) * kMempoolCache;
    const uint32_t size = MbufPoolSize(board, queues);
    EXPECT_GT(size, needed) << queues << " queues";
    EXPECT_EQ((size + 1) & size, 0u) << size << " is not 2^k - 1";
  }
}

TEST(MbufPoolSizeTest, GrowsWithDescriptors) {
  board::Board board = Sim();
  const uint32_t before = MbufPoolSize(board, 1);
  for (auto& port : *board.mutable_ports()) {
    port.set_rx_descriptors(4096);
    port.set_tx_descriptors(4096);
  }
  EXPECT_GT(MbufPoolSize(board, 1), before);
}

TEST(MbufPoolTest, CreateFailsWithSizeAndReasonWhenMemoryIsShort) {
  board::Board board = Sim();
  // 64 queues of 4096-descriptor rings on each port: far beyond the test's 512 MiB.
  for (auto& port : *board.mutable_ports()) {
    port.set_rx_descriptors(4096);
    port.set_tx_descriptors(4096);
  }
  auto pool = CreateMbufPool(board, 64, "too_big");
  ASSERT_FALSE(pool.has_value());
  EXPECT_NE(pool.error().find("cannot create packet buffer pool of"), std::string::npos)
      << pool.error();
}

}  // namespace
}  // namespace sbc::drivers::nic
