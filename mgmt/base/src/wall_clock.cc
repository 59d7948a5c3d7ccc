#include "sbc/mgmt/base/wall_clock.h"

#include <chrono>

namespace sbc::mgmt::base {

int64_t SystemClock::NowUnixMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sbc::mgmt::base
