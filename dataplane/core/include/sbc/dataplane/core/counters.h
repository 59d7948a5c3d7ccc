// Packet counters: one block per worker, written only by that worker, summed on read.
//
// Workers add with AddShared (shared_field.h): relaxed stores, no locked instruction
// on the hot path, and the control thread's concurrent reads are well-defined (no torn
// 64-bit values, no data race).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sbc/dataplane/core/drop_reasons.h"
#include "sbc/dataplane/core/shared_field.h"

namespace sbc::dataplane {

// Most ports a worker counts; equals board::kMaxPorts (the packet core knows no board;
// firmware/dataplane, which knows both, asserts it).
inline constexpr size_t kMaxPorts = 16;

struct PortCounters {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
};

struct alignas(64) WorkerCounters {
  std::array<PortCounters, kMaxPorts> ports{};
  std::array<uint64_t, kDropReasonCount> drops{};

  // Worker thread (the single writer) only.
  static void Add(uint64_t& counter, uint64_t amount) noexcept { AddShared(counter, amount); }
  void AddDrop(DropReason reason, uint64_t amount) noexcept {
    Add(drops[static_cast<size_t>(reason)], amount);
  }
};

// A consistent-enough sum of all workers' counters (each value read atomically).
struct CounterTotals {
  std::array<PortCounters, kMaxPorts> ports{};
  std::array<uint64_t, kDropReasonCount> drops{};

  uint64_t drops_total() const;
};

// Control thread; safe while workers run.
[[nodiscard]] CounterTotals SumCounters(std::span<const WorkerCounters* const> workers);

}  // namespace sbc::dataplane
