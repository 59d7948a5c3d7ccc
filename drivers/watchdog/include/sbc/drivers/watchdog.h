// The board's watchdog: kicked while the appliance is healthy; when the kicks stop,
// the board resets. A rack board's is Linux's /dev/watchdog (the timeout set with
// WDIOC_SETTIMEOUT, kicks with WDIOC_KEEPALIVE, "V" and close to disarm on a clean
// stop). The sim board's is a file holding the monotonic time of the last kick, which
// the sim board's power supply (`sbc-boot power-on`) reads, "resetting" the appliance
// (killing and restarting sbc-boot) when it is older than the timeout.
// Control side; one thread kicks.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "sbc/schema/board.pb.h"

namespace sbc::drivers {

class Watchdog {
 public:
  virtual ~Watchdog() = default;
  [[nodiscard]] virtual std::expected<void, std::string> Kick() = 0;
  // A clean stop: the board does not reset.
  virtual void Disarm() = 0;
};

// The board's watchdog (`path` resolved against data_dir when relative), armed with
// the board's timeout.
[[nodiscard]] std::expected<std::unique_ptr<Watchdog>, std::string> OpenWatchdog(
    const schema::Watchdog& watchdog, const std::filesystem::path& data_dir);

// The sim board's side of a file-backed watchdog: milliseconds since the last kick on
// CLOCK_MONOTONIC, or nothing while it is disarmed (or was never armed).
[[nodiscard]] std::expected<std::optional<uint64_t>, std::string> FileWatchdogSilenceMs(
    const std::filesystem::path& file);

}  // namespace sbc::drivers
