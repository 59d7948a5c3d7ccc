#include "sbc/drivers/nic/mbuf_pool.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <bit>

namespace sbc::drivers::nic {

uint32_t MbufPoolSize(const board::Board& board, uint16_t queues) {
  uint64_t buffers = 0;
  for (const auto& port : board.ports())
    buffers += uint64_t{queues} * (board::RxDescriptors(port) + board::TxDescriptors(port));
  const uint64_t workers = board.cpu().worker_cores_size();
  const uint64_t lcores = workers + 1;
  buffers += workers * kBurstSize * board.ports_size();
  buffers += 2 * kBurstSize * board.ports_size();  // the sim wire's bursts
  buffers += lcores * kMempoolCache;
  return static_cast<uint32_t>(std::bit_ceil(buffers + 1) - 1);
}

std::expected<rte_mempool*, std::string> CreateMbufPool(const board::Board& board, uint16_t queues,
                                                        const std::string& name) {
  const uint32_t count = MbufPoolSize(board, queues);
  const uint32_t data_room = board::MbufDataRoom(board);
  rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), count, kMempoolCache,
                                              /*priv_size=*/0, static_cast<uint16_t>(data_room),
                                              static_cast<int>(rte_socket_id()));
  if (pool == nullptr) {
    const uint64_t mib = (uint64_t{count} * (data_room + sizeof(rte_mbuf))) >> 20;
    return std::unexpected("cannot create packet buffer pool of " + std::to_string(count) +
                           " buffers (~" + std::to_string(mib) + " MiB; memory.size_mb is " +
                           std::to_string(board.memory().size_mb()) +
                           "): " + rte_strerror(rte_errno));
  }
  return pool;
}

}  // namespace sbc::drivers::nic
