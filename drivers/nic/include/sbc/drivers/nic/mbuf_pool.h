// Sizing and creating the packet-buffer pool from the board.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "sbc/board/board.h"

struct rte_mempool;

namespace sbc::drivers::nic {

// Packets a worker may hold outside any ring at once (one RX burst per port pair).
inline constexpr uint32_t kBurstSize = 32;
// Per-lcore mempool cache: amortises the shared ring, in the DPDK-recommended range.
inline constexpr uint32_t kMempoolCache = 256;

// Buffers needed so that no ring or queue can ever starve: every RX and TX descriptor
// of every queue of every port (a net_ring port's rings hold that many too), the
// bursts each worker and the sim wire hold, and every lcore's cache. Rounded up to
// 2^k - 1, the mempool's most compact size. Pure; any thread.
[[nodiscard]] uint32_t MbufPoolSize(const board::Board& board, uint16_t queues);

// Creates the pool on the caller's NUMA socket. Control thread, after EAL init.
// Fails with the size asked for and DPDK's reason (usually memory.size_mb too small).
[[nodiscard]] std::expected<rte_mempool*, std::string> CreateMbufPool(const board::Board& board,
                                                                      uint16_t queues,
                                                                      const std::string& name);

}  // namespace sbc::drivers::nic
