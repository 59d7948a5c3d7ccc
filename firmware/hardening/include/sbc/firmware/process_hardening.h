// What a daemon does to its own process before it holds keys: no core dump may carry
// them to disk (RLIMIT_CORE 0), and the process is not dumpable (PR_SET_DUMPABLE 0:
// no core, no ptrace or /proc/<pid>/mem by other processes of the same user). Both
// daemons hold secrets: the management CA and TLS keys, SRTP session keys.
#pragma once

#include <expected>
#include <string>

namespace sbc::firmware {

// Main thread, at start-up. Fails with the system's reason; the daemons refuse to run.
[[nodiscard]] std::expected<void, std::string> ForbidCoreDumps();

}  // namespace sbc::firmware
