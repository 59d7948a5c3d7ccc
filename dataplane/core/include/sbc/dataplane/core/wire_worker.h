// Bare forwarding between the ports of each pair, with none of the pipeline: the
// benches' baseline (firewall_bench, media_relay_bench), measured in the same run.
//
// A worker owns queue `q` of every port and forwards, for each link (one direction of
// a pair), bursts from the ingress port's RX queue to the egress port's TX queue.
// Nothing here allocates, locks, logs or throws; every drop is counted by reason.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sbc/dataplane/core/counters.h"

namespace sbc::dataplane {

// One direction of a port pair, as one worker serves it.
struct WireLink {
  uint16_t rx_port_id = 0;  // DPDK port ids
  uint16_t tx_port_id = 0;
  uint8_t rx_slot = 0;  // counter slots: the ports' indexes on the board, < kMaxPorts
  uint8_t tx_slot = 0;
  uint16_t queue = 0;  // this worker's queue, on both ports
};

// Frames taken per RX call, and the most a worker holds at once.
inline constexpr uint16_t kWireBurst = 32;
// After stop, passes a worker makes to forward what its queues already hold; bounded
// so a port that keeps receiving cannot hold a shutdown forever.
inline constexpr uint32_t kMaxDrainPasses = 4096;
// Most links one worker serves: both directions of every pair.
inline constexpr size_t kMaxLinks = kMaxPorts;

class WireWorker {
 public:
  // Control thread, before the worker is launched. At most kMaxLinks links.
  explicit WireWorker(std::span<const WireLink> links);

  // Worker lcore. Forwards until `stop` is true, then drains: polls until one whole
  // pass receives nothing (at most kMaxDrainPasses passes), and returns.
  void Run(const std::atomic<bool>& stop) noexcept;

  // Worker lcore. One pass over every link; returns the frames received.
  uint32_t PollOnce() noexcept;

  // Any thread; read with SumCounters while the worker runs.
  const WorkerCounters& counters() const { return counters_; }

 private:
  uint32_t Forward(const WireLink& link) noexcept;

  WorkerCounters counters_;
  std::array<WireLink, kMaxLinks> links_{};
  size_t link_count_ = 0;
};

}  // namespace sbc::dataplane
