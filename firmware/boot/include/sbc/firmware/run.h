// sbc-boot's life after the slot is chosen: start sbc-mgmtd and sbc-dataplane from the
// unpacked slot, supervise them, mark the slot good once both planes answer (the
// health check), and report a crash loop. Control side; sbc-boot's main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <expected>
#include <string>
#include <vector>

#include "sbc/drivers/watchdog.h"
#include "sbc/firmware/boot.h"
#include "sbc/firmware/heartbeat.h"
#include "sbc/firmware/supervisor.h"

namespace sbc::firmware {

struct RunOptions {
  SupervisionPolicy policy;
  std::vector<std::string> mgmtd_args;      // added to sbc-mgmtd's --board and --data-dir
  std::vector<std::string> dataplane_args;  // likewise for sbc-dataplane
  std::chrono::milliseconds poll_interval{50};
  // The runtime integrity check's period (and on SIGUSR1, at once: `verify_now`).
  std::chrono::milliseconds integrity_interval{300'000};
  // Kicked while both planes are alive and answer (checked every `kick_interval`), and
  // during start-up until `health_deadline`; a slot not healthy by then reboots.
  drivers::Watchdog* watchdog = nullptr;
  std::chrono::milliseconds kick_interval{500};
  // A dataplane worker whose poll count has not moved for this long is hung: the
  // watchdog is no longer kicked. Workers poll without pause, so even a loaded
  // machine moves them many times a second.
  std::chrono::milliseconds worker_stall_limit{5000};
  // Likewise sbc-mgmtd's main loop, seen through the boot-events request it makes on
  // boot.sock every tick (500 ms): wedged once none came for this long. Longer: a tick
  // may wait on a dataplane call.
  std::chrono::milliseconds mgmtd_stall_limit{30'000};
  std::chrono::milliseconds health_deadline{300'000};
};

enum class RunEnd {
  kStopped,          // asked to stop (SIGTERM / SIGINT): daemons stopped, slot state kept
  kRebootNeeded,     // the slot never became healthy (a crash loop before the health check):
                     // the next boot takes another attempt, or the other slot
  kRebootRequested,  // a firmware request (activate, revert) chose the slot to boot next
};

// A daemon is stopped (SIGSTOP) or traced: /proc/<pid>/stat's state.
[[nodiscard]] bool IsStopped(pid_t pid);

// Both planes answer on their sockets: sbc-dataplane's IPC socket and sbc-mgmtd's
// console socket under run_dir. Returns what does not answer.
[[nodiscard]] std::expected<void, std::string> CheckHealth(const Appliance& appliance);

// The dataplane answers a status request (within a few seconds) and every worker's
// poll count moves (`workers`, one count per worker, read at `now`). Returns what does
// not, naming the worker.
[[nodiscard]] std::expected<void, std::string> CheckWorkersPolling(
    const Appliance& appliance, Heartbeats& workers, mgmt::control::SteadyClock::time_point now);

// The health check's last part, before a slot is marked good (or its trial reported
// healthy): the dataplane answers a status request over its IPC socket and enforces the
// config version sbc-mgmtd's store runs (<data_dir>/mgmt/config; none: nothing to
// prove yet). Returns that version, or why the rules are not live.
[[nodiscard]] std::expected<uint64_t, std::string> CheckRulesLive(const Appliance& appliance);

// Runs the booted slot until `stop` is set or it must reboot. Prints what happens on
// stdout, records the health check, crash loops and integrity findings in the boot
// state, writes run_dir/boot-status, and lights the board's alarm LED for a crash loop
// or an integrity finding. Every daemon start (restarts too) first checks its binary
// against the manifest, so a tampered binary is never started again.
// Firmware requests from sbc-mgmtd (boot_control.h) are answered on run_dir/boot.sock.
// `verify_now` (set by a SIGUSR1 handler) asks for an integrity check at once; it is
// cleared when done.
[[nodiscard]] RunEnd RunBootedSlot(const Appliance& appliance, const TrustContext& trust,
                                   const BootedSlot& booted, const RunOptions& options,
                                   const std::atomic<bool>& stop, std::atomic<bool>& verify_now);

}  // namespace sbc::firmware
