// The firmware steps sbc-mgmtd asks the running sbc-boot for (schema::BootRequest over
// run_dir/boot.sock): status, install to the inactive slot, activate (on trial),
// commit, revert, and the integrity check now. sbc-boot owns the slots and the boot
// state, so only it does these; it checks every image itself.
// Control side; sbc-boot's main thread (RunBootedSlot's loop).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sbc/firmware/boot.h"
#include "sbc/schema/firmware.pb.h"

namespace sbc::firmware {

inline constexpr char kBootSocket[] = "boot.sock";

// What the running slot is doing, as RunBootedSlot knows it.
struct RunningSlot {
  const BootedSlot& booted;
  std::string health;    // "starting", "healthy", "crash loop", "integrity alarm"
  bool healthy = false;  // the health check passed in this boot
  // Runs the integrity check now, reporting findings as the periodic check does.
  std::function<std::vector<std::string>()> check_integrity;
  // Called about every 500 ms while a request takes long (RAUC writing a slot): the
  // run loop's watchdog kick.
  std::function<void()> keep_alive;
};

struct BootReply {
  schema::BootResponse response;
  bool reboot = false;  // activate and revert: sbc-boot stops both planes and reboots
};

// Both slots (versions, attempts, which boots next, why one does not verify), the
// booted one, health, the trial slot, the committed rollback index, the last events.
[[nodiscard]] schema::FirmwareStatus DescribeFirmware(const Appliance& appliance,
                                                      const TrustContext& trust,
                                                      const RunningSlot& running);

// One request. Refusals name the slot and the reason, and change nothing:
// - install PATH: the image at PATH verified (trust root, board, environment, rollback
//   index) before the inactive slot is touched; the slot is marked bad while it is
//   written (a cut write never boots) and stays without boot attempts until activated;
// - activate: the inactive slot's image verifies; it becomes primary on trial (its
//   health check does not mark it good: a commit does), and sbc-boot reboots into it;
// - commit: the booted slot is on trial and passed its health check: marked good,
//   rollback index raised;
// - revert: the other slot's image verifies (and meets the rollback index): it becomes
//   primary; a trial slot reverted from is marked bad; sbc-boot reboots;
// - verify: the integrity check, its findings returned;
// - events_after: the boot events numbered after it (for sbc-mgmtd's audit log), and
//   how many were ever recorded; no slot status.
[[nodiscard]] BootReply HandleBootRequest(const Appliance& appliance, const TrustContext& trust,
                                          const RunningSlot& running,
                                          const schema::BootRequest& request, int64_t now_unix);

}  // namespace sbc::firmware
