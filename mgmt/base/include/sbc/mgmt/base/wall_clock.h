// The appliance's wall clock as the management plane reads it: milliseconds since the
// Unix epoch, behind an interface so that tests control time and the settable clock
// (mgmt/clock) can stand in for the system's.
#pragma once

#include <cstdint>

namespace sbc::mgmt::base {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowUnixMs() const = 0;
};

// The system's realtime clock.
class SystemClock final : public Clock {
 public:
  int64_t NowUnixMs() const override;
};

}  // namespace sbc::mgmt::base
