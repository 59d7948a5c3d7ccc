#include "sbc/mgmt/control/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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

}  // namespace sbc::mgmt::control
