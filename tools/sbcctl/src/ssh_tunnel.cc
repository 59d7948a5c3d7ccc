#include "ssh_tunnel.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace sbc::tools {
namespace {

// A port nobody listens on now (the kernel picks it; ssh binds it right after).
std::expected<uint16_t, std::string> FreeLocalPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::unexpected(std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool found = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                     getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int error = errno;
  close(fd);
  if (!found)
    return std::unexpected(std::string("no free local port for the tunnel: ") +
                           std::strerror(error));
  return ntohs(addr.sin_port);
}

bool Accepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

std::expected<SshTunnel, std::string> SshTunnel::Open(const std::string& destination,
                                                      uint16_t remote_port,
                                                      const std::vector<std::string>& ssh_options) {
  const auto free_port = FreeLocalPort();
  if (!free_port) return std::unexpected(free_port.error());
  const uint16_t local = *free_port;
  std::vector<std::string> args = {
      "ssh", "-N",
      "-L",  "127.0.0.1:" + std::to_string(local) + ":127.0.0.1:" + std::to_string(remote_port),
      "-o",  "ExitOnForwardFailure=yes",
      "-o",  "BatchMode=yes"};
  for (const auto& o : ssh_options) args.insert(args.end(), {"-o", o});
  args.push_back(destination);
  const pid_t pid = fork();
  if (pid < 0) return std::unexpected(std::string("cannot start ssh"));
  if (pid == 0) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("ssh", argv.data());
    _exit(127);
  }
  SshTunnel tunnel(pid, local);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      tunnel.pid_ = -1;
      return std::unexpected(
          "ssh to " + destination + " ended (exit " +
          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
          "): check the destination, your key and that port forwarding is allowed");
    }
    if (Accepts(local)) return tunnel;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::unexpected("ssh tunnel to " + destination + " did not come up within 15 s");
}

SshTunnel::SshTunnel(SshTunnel&& other) noexcept
    : pid_(other.pid_), local_port_(other.local_port_) {
  other.pid_ = -1;
}

SshTunnel::~SshTunnel() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

}  // namespace sbc::tools
