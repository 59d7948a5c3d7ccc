#include "sbc/mgmt/control/console_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "sbc/mgmt/control/connection_threads.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"

namespace sbc::mgmt::control {

struct ConsoleServer::State {
  ConsoleServerConfig config;
  ConsoleLoginHandler login;
  ConsoleFrameHandler handler;
  int listen_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread acceptor;

  mutable std::mutex mutex;  // guards stats
  ConsoleServerStats stats;
  const SteadyClock* clock = &SystemSteadyClock();
  std::unique_ptr<ConnectionThreads> sessions;

  void Count(uint64_t ConsoleServerStats::*field) {
    std::lock_guard lock(mutex);
    ++(stats.*field);
  }

  // The login frame, due by `deadline`; the user name on success. *idle: when the
  // session is idle unless a request comes first (set before the answer goes out, so
  // it never starts later than the peer can see).
  std::optional<std::string> LogIn(Transport& transport, const Deadline& deadline, Deadline* idle) {
    auto frame = ReadFrame(transport, deadline);
    if (!frame) {
      if (frame.error() != FrameError::kClosed) Count(&ConsoleServerStats::bad_frames);
      return std::nullopt;
    }
    schema::Request request;
    schema::Response response;
    if (!request.ParseFromString(*frame) || !request.has_console_login()) {
      response.set_outcome(schema::REFUSED);
      response.set_error("log in first: the console's first request must be CONSOLE_LOGIN");
    } else {
      response = login(request.console_login().name(), request.console_login().password());
    }
    // Best effort: the password does not linger in this thread's heap.
    std::string* password = request.mutable_console_login()->mutable_password();
    std::fill(password->begin(), password->end(), '\0');
    std::fill(frame->begin(), frame->end(), '\0');
    const bool ok = response.outcome() == schema::OK;
    if (!ok) Count(&ConsoleServerStats::failed_logins);
    *idle = Deadline::In(config.idle_timeout, *clock);
    if (!WriteFrame(transport, response.SerializeAsString()) || !ok) return std::nullopt;
    return request.console_login().name();
  }

  // The session on `fd`, whose login is due by `login_deadline` (set when accepted).
  void Serve(int fd, const Deadline& login_deadline) {
    FdTransport transport(fd);
    Deadline idle = login_deadline;
    auto user = LogIn(transport, login_deadline, &idle);
    if (!user) return;
    while (!stopping.load()) {
      if (!WaitReadable(fd, idle, stopping)) return;
      auto frame = ReadFrame(transport, config.read_timeout, kMaxFrameBytes, *clock);
      if (!frame) {
        if (frame.error() != FrameError::kClosed) Count(&ConsoleServerStats::bad_frames);
        return;
      }
      const std::string reply = handler(*user, *frame);
      idle = Deadline::In(config.idle_timeout, *clock);
      if (!WriteFrame(transport, reply)) return;
    }
  }

  void Accept() {
    while (!stopping.load()) {
      if (!WaitReadable(listen_fd, std::chrono::milliseconds(200), stopping)) continue;
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (!PeerIsTrusted(fd)) {
        Count(&ConsoleServerStats::refused_peers);
        close(fd);
        continue;
      }
      const Deadline login_due = Deadline::In(config.read_timeout, *clock);
      if (!sessions->Start(fd,
                           [this, login_due](int session_fd) { Serve(session_fd, login_due); })) {
        Count(&ConsoleServerStats::refused_over_limit);
        continue;
      }
      Count(&ConsoleServerStats::sessions);
    }
  }
};

std::expected<std::unique_ptr<ConsoleServer>, std::string> ConsoleServer::Start(
    const ConsoleServerConfig& config, ConsoleLoginHandler login, ConsoleFrameHandler handler) {
  auto fd = ListenUnixExclusive(config.socket_path, "sbc-mgmtd");
  if (!fd) return std::unexpected(fd.error());
  std::unique_ptr<ConsoleServer> server(new ConsoleServer());
  server->state_ = std::make_unique<State>();
  State& s = *server->state_;
  s.config = config;
  if (config.clock != nullptr) s.clock = config.clock;
  s.login = std::move(login);
  s.handler = std::move(handler);
  s.listen_fd = *fd;
  s.sessions = std::make_unique<ConnectionThreads>(config.max_sessions);
  s.acceptor = std::thread([&s] { s.Accept(); });
  return server;
}

ConsoleServerStats ConsoleServer::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void ConsoleServer::Stop() {
  if (!state_ || state_->stopping.exchange(true)) return;
  State& s = *state_;
  if (s.acceptor.joinable()) s.acceptor.join();
  s.sessions->StopAll();
  close(s.listen_fd);
  std::error_code ec;
  std::filesystem::remove(s.config.socket_path, ec);
}

ConsoleServer::~ConsoleServer() { Stop(); }

}  // namespace sbc::mgmt::control
