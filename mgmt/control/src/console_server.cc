#include "sbc/mgmt/control/console_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <mutex>
#include <thread>
#include <memory>

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
  std::unique_ptr<ConnectionThreads> sessions;

  void Count(uint64_t ConsoleServerStats::*field) {
    std::lock_guard lock(mutex);
    ++(stats.*field);
  }

  // The login frame; the user name on success.
  std::optional<std::string> LogIn(Transport& transport) {
    auto frame = ReadFrame(transport, config.read_timeout);
    if (!frame) {
      if (frame.error() != FrameError::kClosed) Count(&ConsoleServerStats::bad_frames);
      return std::nullopt;
    }
    schema::Request request;
    schema::Response response;
    if (!request.ParseFromString(*frame) || request.rpc() != schema::CONSOLE_LOGIN) {
      response.set_outcome(schema::REFUSED);
      response.set_error("log in first: the console's first request must be CONSOLE_LOGIN");
    } else {
      response = login(request.user_name(), request.password());
    }
    // Best effort: the password does not linger in this thread's heap.
    std::fill(request.mutable_password()->begin(), request.mutable_password()->end(), '\0');
    std::fill(frame->begin(), frame->end(), '\0');
    const bool ok = response.outcome() == schema::OK;
    if (!ok) Count(&ConsoleServerStats::failed_logins);
    if (!WriteFrame(transport, response.SerializeAsString()) || !ok) return std::nullopt;
    return request.user_name();
  }

  void Serve(int fd) {
    FdTransport transport(fd);
    auto user = LogIn(transport);
    if (!user) return;
    while (!stopping.load()) {
      if (!WaitReadable(fd, config.idle_timeout, stopping)) return;
      auto frame = ReadFrame(transport, config.read_timeout);
      if (!frame) {
        if (frame.error() != FrameError::kClosed) Count(&ConsoleServerStats::bad_frames);
        return;
      }
      if (!WriteFrame(transport, handler(*user, *frame))) return;
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
      if (!sessions->Start(fd, [this](int session_fd) { Serve(session_fd); })) {
        Count(&ConsoleServerStats::refused_over_limit);
        continue;
      }
      Count(&ConsoleServerStats::sessions);
    }
  }
};

std::expected<std::unique_ptr<ConsoleServer>, std::string> ConsoleServer::Start(const ConsoleServerConfig& config,
                                                                               ConsoleLoginHandler login,
                                                                               ConsoleFrameHandler handler) {
  auto fd = ListenUnixExclusive(config.socket_path, "sbc-mgmtd");
  if (!fd) return std::unexpected(fd.error());
  std::unique_ptr<ConsoleServer> server(new ConsoleServer());
  server->state_ = std::make_unique<State>();
  State& s = *server->state_;
  s.config = config;
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
