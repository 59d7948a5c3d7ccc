// The console's way in: break-glass access for when certificates cannot be used (the
// CA is lost, a certificate expired, the network is down). A Unix socket on the
// appliance itself, mode 0600, peers checked (own user or root), so only someone
// already logged in on the local console reaches it; `sbcctl --console` talks to it.
//
// A session's first frame must be a CONSOLE_LOGIN Request (user name and password).
// The login callback decides; anything but OK closes the session. After an OK, each
// frame is one Request handled as that user, exactly as over TLS (same roles, same
// audit), until the peer closes or stays idle past idle_timeout.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "sbc/mgmt/control/steady_clock.h"
#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::control {

struct ConsoleServerConfig {
  std::string socket_path;
  uint32_t max_sessions = 4;
  // A person types the password; a stalled peer is cut off after this.
  std::chrono::milliseconds read_timeout{60'000};
  std::chrono::milliseconds idle_timeout{900'000};  // management.session_idle_timeout_s
  // The time the timeouts above run on (tests move it); nullptr: the system's.
  const SteadyClock* clock = nullptr;
};

struct ConsoleServerStats {
  uint64_t sessions = 0;
  uint64_t refused_peers = 0;  // not our user and not root
  uint64_t refused_over_limit = 0;
  uint64_t failed_logins = 0;
  uint64_t bad_frames = 0;
};

// Checks a login; returns the Response to send (OK: the session is that user's).
using ConsoleLoginHandler =
    std::function<schema::Response(const std::string& user, const std::string& password)>;
// One request frame in, one response frame out, as `user`.
using ConsoleFrameHandler =
    std::function<std::string(const std::string& user, const std::string& frame)>;

class ConsoleServer {
 public:
  // Refuses if another process serves the socket already.
  [[nodiscard]] static std::expected<std::unique_ptr<ConsoleServer>, std::string> Start(
      const ConsoleServerConfig& config, ConsoleLoginHandler login, ConsoleFrameHandler handler);
  ~ConsoleServer();  // Stop()s and removes the socket file
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;

  ConsoleServerStats stats() const;
  void Stop();

 private:
  struct State;
  ConsoleServer() = default;
  std::unique_ptr<State> state_;
};

}  // namespace sbc::mgmt::control
