#include "sbc/mgmt/control/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sbc::mgmt::control {
namespace {

std::expected<sockaddr_un, std::string> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return std::unexpected(path + ": socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

}  // namespace

std::expected<int, std::string> ListenUnix(const std::string& path) {
  auto addr = Address(path);
  if (!addr) return std::unexpected(addr.error());
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::filesystem::remove(path, ec);  // a socket file left by a previous run
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  // Created 0600 from the start: no window in which others could connect.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr));
  umask(old_mask);
  if (fd < 0 || bound != 0 || listen(fd, 8) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) close(fd);
    return std::unexpected(path + ": cannot listen: " + reason);
  }
  return fd;
}

std::expected<int, std::string> ListenUnixExclusive(const std::string& path,
                                                    const std::string& what) {
  if (auto live = ConnectUnix(path); live) {
    close(*live);
    return std::unexpected("another process serves " + path + " (is " + what +
                           " already running?)");
  }
  return ListenUnix(path);
}

std::expected<int, std::string> ConnectUnix(const std::string& path) {
  auto addr = Address(path);
  if (!addr) return std::unexpected(addr.error());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&*addr), sizeof(*addr)) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) close(fd);
    return std::unexpected(path + ": " + reason);
  }
  return fd;
}

uid_t PeerUid(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return static_cast<uid_t>(-1);
  return cred.uid;
}

bool PeerIsTrusted(int fd) {
  const uid_t peer = PeerUid(fd);
  return peer == geteuid() || peer == 0;
}

bool WaitReadable(int fd, std::chrono::milliseconds timeout, const std::atomic<bool>& stop,
                  const SteadyClock& clock) {
  return WaitReadable(fd, Deadline::In(timeout, clock), stop);
}

bool WaitReadable(int fd, const Deadline& deadline, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    if (deadline.passed()) return false;
    pollfd pfd{fd, POLLIN, 0};
    // A signal (EINTR) simply loops.
    if (poll(&pfd, 1, deadline.poll_ms()) > 0) return true;
  }
  return false;
}

}  // namespace sbc::mgmt::control
