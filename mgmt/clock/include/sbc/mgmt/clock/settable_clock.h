// The appliance's wall clock, as the management plane reads it (audit times, bundle
// expiry, confirm deadlines) and sets it (the CLOCK_SET RPC). Two kinds, chosen by the
// board: the system clock (rack boards), and a clock kept as an offset from the
// host's in a file (the sim board, which must not change its host's time).
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>

#include "sbc/mgmt/base/wall_clock.h"

namespace sbc::mgmt::clock {

// The range of times the appliance accepts: nothing this firmware signs or checks is
// older, and a later year is a typo, not a clock.
inline constexpr int64_t kEarliestUnixMs = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
inline constexpr int64_t kLatestUnixMs = 4'102'444'800'000;    // 2100-01-01T00:00:00Z

class SettableClock : public base::Clock {
 public:
  // Makes NowUnixMs() read `unix_ms` now. Refuses times outside the accepted range;
  // otherwise fails only if the OS or the offset file does.
  [[nodiscard]] virtual std::expected<void, std::string> Set(int64_t unix_ms) = 0;
};

// CLOCK_REALTIME; Set() needs CAP_SYS_TIME and says so when it is missing.
[[nodiscard]] std::unique_ptr<SettableClock> SystemRealtimeClock();

// The host's time plus an offset in milliseconds kept in `offset_file` (written
// atomically; a missing file means offset 0). Fails if the file exists but is not
// a number.
[[nodiscard]] std::expected<std::unique_ptr<SettableClock>, std::string> OffsetFileClock(
    const std::filesystem::path& offset_file);

// "2026-11-28T20:15:19.123Z"
[[nodiscard]] std::string FormatUtc(int64_t unix_ms);
// The inverse, for "YYYY-MM-DDThh:mm:ss[.mmm]Z"; a one-line reason for anything else.
[[nodiscard]] std::expected<int64_t, std::string> ParseUtc(const std::string& text);

}  // namespace sbc::mgmt::clock
