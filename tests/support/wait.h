// Waiting for an event in a test: poll until it holds. The deadline only bounds a
// test that is failing (a loaded machine is slow, not stuck); a passing test waits as
// long as the event takes, never a fixed time.
#pragma once

#include <chrono>
#include <thread>

#include "support/run_process.h"

namespace sbc::testing {

template <typename Predicate>
[[nodiscard]] bool WaitUntil(
    Predicate done, std::chrono::seconds deadline = std::chrono::seconds(kEventDeadlineS)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace sbc::testing
