// Unix-domain stream sockets for the IPC between the two daemons.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <expected>
#include <string>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::mgmt::control {

// Listens on `path` (replacing a stale socket file), mode 0600. Returns the fd.
[[nodiscard]] std::expected<int, std::string> ListenUnix(const std::string& path);
// ListenUnix, but refuses while another process still serves `path` (a second daemon
// must not steal a live daemon's socket); `what` names the daemon in the error.
[[nodiscard]] std::expected<int, std::string> ListenUnixExclusive(const std::string& path,
                                                                  const std::string& what);
// Connects to `path`. Returns the fd.
[[nodiscard]] std::expected<int, std::string> ConnectUnix(const std::string& path);
// The connected peer's uid (SO_PEERCRED), or -1.
[[nodiscard]] uid_t PeerUid(int fd);
// The peer runs as this process's effective user or as root: the only callers the
// daemons' local sockets serve (the file mode already keeps others out; this also
// holds if the socket's directory is opened up by mistake).
[[nodiscard]] bool PeerIsTrusted(int fd);

// Waits until `fd` is readable (true) or `timeout` passes on `clock` or `stop` is
// set (false). Polls in short slices so a stopping daemon (or a moved clock) is noticed.
[[nodiscard]] bool WaitReadable(int fd, std::chrono::milliseconds timeout,
                                const std::atomic<bool>& stop,
                                const SteadyClock& clock = SystemSteadyClock());
// The same, until `deadline`.
[[nodiscard]] bool WaitReadable(int fd, const Deadline& deadline, const std::atomic<bool>& stop);

}  // namespace sbc::mgmt::control
