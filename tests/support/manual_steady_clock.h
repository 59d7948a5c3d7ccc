// A monotonic clock that moves only when the test says: the daemons' deadlines
// (handshakes, frames, idle sessions) on it time out exactly when the test moves time
// past them, on any machine, loaded or not.
#pragma once

#include <atomic>
#include <chrono>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::testing {

class ManualSteadyClock final : public mgmt::control::SteadyClock {
 public:
  time_point Now() const override { return start_ + std::chrono::milliseconds(offset_ms_.load()); }
  void Advance(std::chrono::milliseconds by) { offset_ms_ += by.count(); }

 private:
  const time_point start_ = std::chrono::steady_clock::now();
  std::atomic<int64_t> offset_ms_{0};
};

}  // namespace sbc::testing
