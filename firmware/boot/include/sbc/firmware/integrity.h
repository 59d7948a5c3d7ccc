// The runtime integrity check (the appliance's answer to "anti-virus on production"):
// the running slot's files and the running daemons' executables against the signed
// manifest they were verified by at boot. Control side; sbc-boot's main thread.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "sbc/firmware/boot.h"

namespace sbc::firmware {

// One file of the slot (a manifest path, "bin/sbc-dataplane") as it is now on disk.
[[nodiscard]] std::expected<void, std::string> CheckSlotFile(const BootedSlot& booted,
                                                             const std::string& path);

// Every file of the unpacked slot (VerifyTree: changed, missing or extra files), and for
// each running daemon its executable as the kernel runs it (/proc/<pid>/exe, so a
// binary replaced on disk after it started is told apart from the one running) against
// the manifest entry bin/<name>. Returns one line per finding; none when intact.
[[nodiscard]] std::vector<std::string> CheckIntegrity(
    const BootedSlot& booted, const std::vector<std::pair<std::string, pid_t>>& running);

}  // namespace sbc::firmware
