// The monotonic time the daemons' deadlines run on (a frame's read, a TLS handshake,
// an idle session): the system's steady clock, or in tests one they move themselves,
// so that no test of a timeout depends on how fast the machine runs.
//
// Waits never trust one long poll(): they poll the socket in slices of kWaitSlice and
// read the clock again after each, so a moved clock (or a stop) is seen within one.
#pragma once

#include <chrono>

namespace sbc::mgmt::control {

class SteadyClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~SteadyClock() = default;
  // Any thread.
  [[nodiscard]] virtual time_point Now() const = 0;
};

// std::chrono::steady_clock.
[[nodiscard]] const SteadyClock& SystemSteadyClock();

inline constexpr std::chrono::milliseconds kWaitSlice{50};

// A point in some clock's time by which something must have happened.
struct Deadline {
  const SteadyClock* clock;
  SteadyClock::time_point at;

  static Deadline In(std::chrono::milliseconds from_now,
                     const SteadyClock& clock = SystemSteadyClock()) {
    return {&clock, clock.Now() + from_now};
  }
  [[nodiscard]] bool passed() const { return clock->Now() >= at; }
  // How long to wait in one poll() before looking again: the time left, at most one
  // slice; 0 once passed.
  [[nodiscard]] int poll_ms() const {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(at - clock->Now()).count();
    return left <= 0 ? 0 : static_cast<int>(left < kWaitSlice.count() ? left : kWaitSlice.count());
  }
};

}  // namespace sbc::mgmt::control
