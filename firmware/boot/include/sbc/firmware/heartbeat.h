// A hung thread, seen from outside its process: the process still answers on its
// socket (another thread does that), but a count the thread moves on every pass of its
// loop stops moving. sbc-boot reads such counts with every liveness check (each
// dataplane worker's polls, sbc-mgmtd's main-loop ticks) and, once one has not moved
// for the limit, stops kicking the watchdog, so the hang ends in a reboot.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::firmware {

class Heartbeats {
 public:
  explicit Heartbeats(std::chrono::milliseconds limit) : limit_(limit) {}

  struct Stall {
    size_t index;                     // whose count, in the reading (0-based)
    std::chrono::milliseconds still;  // how long it has not moved
    uint64_t count;                   // where it stopped
  };

  // One reading of every count, taken at `now`. A count that differs from the last
  // reading (higher, or lower: a restarted process) is a beat; another number of counts
  // starts over. Returns the first whose count has not moved for `limit` or longer.
  [[nodiscard]] std::optional<Stall> Observe(mgmt::control::SteadyClock::time_point now,
                                             std::span<const uint64_t> counts);

  // Forgets every reading: the process is restarting (its new one starts afresh), or
  // the reader was kept from reading for a while.
  void Reset() { beats_.clear(); }

  std::chrono::milliseconds limit() const { return limit_; }

 private:
  struct Beat {
    uint64_t count;
    mgmt::control::SteadyClock::time_point at;  // when `count` was first read
  };
  std::chrono::milliseconds limit_;
  std::vector<Beat> beats_;
};

// A process's main loop, seen through a request it makes on every pass (sbc-mgmtd's
// boot-events request on boot.sock, every 500 ms). Held against a process only once it
// made one, so a process started without that link is never taken for wedged.
class MainLoopTicks {
 public:
  explicit MainLoopTicks(std::chrono::milliseconds limit) : beats_(limit) {}

  // Its request arrived.
  void Ticked() {
    ++ticks_;
    ticked_ = true;
  }
  // The process that runs now: another one than before (restarted) starts over.
  void Running(pid_t pid);
  // How long no request came, once that is `limit` or longer; read at `now`.
  [[nodiscard]] std::optional<Heartbeats::Stall> Observe(
      mgmt::control::SteadyClock::time_point now);
  // Forgets the readings (the observer itself was away: see Heartbeats::Reset).
  void Reset() { beats_.Reset(); }

  std::chrono::milliseconds limit() const { return beats_.limit(); }

 private:
  Heartbeats beats_;
  uint64_t ticks_ = 0;
  bool ticked_ = false;
  pid_t pid_ = 0;
};

}  // namespace sbc::firmware
