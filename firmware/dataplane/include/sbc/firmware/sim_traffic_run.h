// Drives synthetic traffic through a running dataplane on the sim board, from the
// far ends of its ports, and accounts for every frame: each one sent either arrives
// on the peer port or is counted as a drop with a reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>

#include "sbc/firmware/dataplane.h"

namespace sbc::firmware {

struct SimTrafficOptions {
  // Frames to send in all, taking turns over both directions of every pair. Ignored
  // with `keep_running`: traffic then goes on until `stop`.
  uint64_t frames = 100000;
  uint32_t flows = 1024;
  // Every n-th frame is a runt (0: none), so the drop counters have something to show.
  uint32_t runt_every = 0;
  bool keep_running = false;
  // Frames per second while keep_running (0: as fast as the dataplane takes them).
  uint64_t rate_pps = 0;
  // Called about every `report_interval_s` while keep_running.
  double report_interval_s = 5.0;
  std::function<void()> report = nullptr;
  // Gives up when nothing moves for this long.
  double stall_timeout_s = 10.0;
};

struct SimTrafficResult {
  uint64_t sent = 0;
  uint64_t arrived = 0;     // came out of the peer port
  uint64_t mismatched = 0;  // arrived, but not a frame we sent, or out of the wrong port
};

// Control thread, while `dataplane` runs. Returns when every frame sent is accounted
// for (arrived or counted as dropped) and, with keep_running, `stop` is set; or an
// error line on stall. Stops the dataplane's workers before returning, so that
// frames still queued are drained and counted.
[[nodiscard]] std::expected<SimTrafficResult, std::string> RunSimTraffic(
    Dataplane& dataplane, const SimTrafficOptions& options, const std::atomic<bool>& stop);

}  // namespace sbc::firmware
