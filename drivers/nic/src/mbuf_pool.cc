#include "sbc/drivers/nic/mbuf_pool.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <bit>
#include <cstdio>
#include <mutex>
#include <string>

namespace sbc::drivers::nic {
namespace {

#if defined(__SANITIZE_THREAD__)
// Under ThreadSanitizer the pool keeps its free buffers in a ring of its own, run by
// this file's (instrumented, C11-model) ring code instead of librte_mempool_ring's:
// a buffer one worker frees and another thread allocates then reads as handed over,
// not as a race between its old and new owner. Other builds use DPDK's default.
constexpr const char* kTsanOps = "sbc_tsan_ring";

int TsanAlloc(rte_mempool* mp) {
  static std::atomic<unsigned> pools{0};  // ring names are short: not the pool's own
  const std::string name = "tsan_pool_" + std::to_string(pools.fetch_add(1));
  rte_ring* ring = rte_ring_create(name.c_str(), mp->size, mp->socket_id, RING_F_EXACT_SZ);
  if (ring == nullptr) return -rte_errno;
  mp->pool_data = ring;
  return 0;
}
void TsanFree(rte_mempool* mp) { rte_ring_free(static_cast<rte_ring*>(mp->pool_data)); }
int TsanEnqueue(rte_mempool* mp, void* const* objects, unsigned n) {
  return rte_ring_mp_enqueue_bulk(static_cast<rte_ring*>(mp->pool_data), objects, n, nullptr) == 0
             ? -ENOBUFS
             : 0;
}
int TsanDequeue(rte_mempool* mp, void** objects, unsigned n) {
  return rte_ring_mc_dequeue_bulk(static_cast<rte_ring*>(mp->pool_data), objects, n, nullptr) == 0
             ? -ENOBUFS
             : 0;
}
unsigned TsanCount(const rte_mempool* mp) {
  return rte_ring_count(static_cast<const rte_ring*>(mp->pool_data));
}

const char* PoolOps() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    static rte_mempool_ops ops{};
    std::snprintf(ops.name, sizeof(ops.name), "%s", kTsanOps);
    ops.alloc = TsanAlloc;
    ops.free = TsanFree;
    ops.enqueue = TsanEnqueue;
    ops.dequeue = TsanDequeue;
    ops.get_count = TsanCount;
    rte_mempool_register_ops(&ops);
  });
  return kTsanOps;
}
#else
const char* PoolOps() { return nullptr; }  // the EAL's default (ring_mp_mc)
#endif

}  // namespace

uint32_t MbufPoolSize(const board::Board& board, uint16_t queues) {
  uint64_t buffers = 0;
  for (const auto& port : board.ports())
    buffers += uint64_t{queues} * (board::RxDescriptors(port) + board::TxDescriptors(port));
  const uint64_t workers = board.cpu().worker_cores_size();
  const uint64_t lcores = workers + 1;
  const auto ports = static_cast<uint64_t>(board.ports_size());
  buffers += workers * kBurstSize * ports;
  buffers += 2 * uint64_t{kBurstSize} * ports;  // the sim wire's bursts
  buffers += lcores * kMempoolCache;
  return static_cast<uint32_t>(std::bit_ceil(buffers + 1) - 1);
}

std::expected<rte_mempool*, std::string> CreateMbufPool(const board::Board& board, uint16_t queues,
                                                        const std::string& name) {
  const uint32_t count = MbufPoolSize(board, queues);
  const uint32_t data_room = board::MbufDataRoom(board);
  rte_mempool* pool = rte_pktmbuf_pool_create_by_ops(
      name.c_str(), count, kMempoolCache, /*priv_size=*/0, static_cast<uint16_t>(data_room),
      static_cast<int>(rte_socket_id()), PoolOps());
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
