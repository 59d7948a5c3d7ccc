// `sbcctl --ssh user@host`: runs `ssh -N -L <free local port>:127.0.0.1:<remote port>`
// for the duration of one command, so operators never expose the control API.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

namespace sbc::tools {

class SshTunnel {
 public:
  // Starts ssh and waits (up to 15 s) until the local end accepts connections. Fails
  // with one line (ssh missing, authentication refused, forward refused, timeout).
  [[nodiscard]] static std::expected<SshTunnel, std::string> Open(
      const std::string& destination, uint16_t remote_port,
      const std::vector<std::string>& ssh_options);
  SshTunnel(SshTunnel&& other) noexcept;
  SshTunnel& operator=(SshTunnel&&) = delete;
  ~SshTunnel();  // stops ssh
  uint16_t local_port() const { return local_port_; }

 private:
  SshTunnel(pid_t pid, uint16_t port) : pid_(pid), local_port_(port) {}
  pid_t pid_ = -1;
  uint16_t local_port_ = 0;
};

}  // namespace sbc::tools
