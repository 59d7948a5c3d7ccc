#include "sbc/firmware/heartbeat.h"

namespace sbc::firmware {

std::optional<Heartbeats::Stall> Heartbeats::Observe(mgmt::control::SteadyClock::time_point now,
                                                     std::span<const uint64_t> counts) {
  if (beats_.size() != counts.size()) {
    beats_.clear();
    for (uint64_t count : counts) beats_.push_back({count, now});
    return std::nullopt;
  }
  std::optional<Stall> first;
  for (size_t i = 0; i < counts.size(); ++i) {
    Beat& beat = beats_[i];
    if (counts[i] != beat.count) {
      beat = {counts[i], now};
      continue;
    }
    const auto still = std::chrono::duration_cast<std::chrono::milliseconds>(now - beat.at);
    if (still >= limit_ && !first) first = Stall{i, still, beat.count};
  }
  return first;
}

void MainLoopTicks::Running(pid_t pid) {
  if (pid == pid_) return;
  pid_ = pid;
  ticked_ = false;
  beats_.Reset();
}

std::optional<Heartbeats::Stall> MainLoopTicks::Observe(
    mgmt::control::SteadyClock::time_point now) {
  if (!ticked_) return std::nullopt;
  return beats_.Observe(now, std::span(&ticks_, 1));
}

}  // namespace sbc::firmware
