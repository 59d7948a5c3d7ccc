// Unix-domain stream sockets for the IPC between the two daemons.
#pragma once

#include <sys/types.h>

#include <expected>
#include <string>

namespace sbc::mgmt::control {

// Listens on `path` (replacing a stale socket file), mode 0600. Returns the fd.
[[nodiscard]] std::expected<int, std::string> ListenUnix(const std::string& path);
// Connects to `path`. Returns the fd.
[[nodiscard]] std::expected<int, std::string> ConnectUnix(const std::string& path);
// The connected peer's uid (SO_PEERCRED), or -1.
[[nodiscard]] uid_t PeerUid(int fd);

}  // namespace sbc::mgmt::control
