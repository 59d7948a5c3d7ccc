#include "sbc/firmware/ipc_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"

namespace sbc::firmware {

std::expected<std::unique_ptr<IpcServer>, std::string> IpcServer::Start(const std::string& path,
                                                                        IpcHandler handler) {
  auto fd = mgmt::control::ListenUnixExclusive(path, "sbc-dataplane");
  if (!fd) return std::unexpected(fd.error());
  std::unique_ptr<IpcServer> server(new IpcServer());
  server->path_ = path;
  server->handler_ = std::move(handler);
  server->listen_fd_ = *fd;
  server->thread_ = std::thread([s = server.get()] { s->Serve(); });
  return server;
}

IpcServer::~IpcServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void IpcServer::Serve() {
  while (!stop_.load()) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (!mgmt::control::PeerIsTrusted(fd)) {
      ++refused_peers_;
      close(fd);
      continue;
    }
    mgmt::control::FdTransport transport(fd);
    while (!stop_.load()) {
      auto frame = mgmt::control::ReadFrame(transport, std::chrono::seconds(5));
      if (!frame) break;
      schema::DataplaneRequest request;
      schema::DataplaneResponse response;
      if (!request.ParseFromString(*frame)) {
        response.set_error("not a dataplane request");
      } else {
        response = handler_(request);
      }
      if (!mgmt::control::WriteFrame(transport, response.SerializeAsString())) break;
    }
    close(fd);
  }
}

}  // namespace sbc::firmware
