// The dataplane's end of the IPC with sbc-mgmtd: a Unix socket (mode 0600, no network
// listener), peers admitted only if they run as the dataplane's own user (or root),
// one frame in, one frame out (mgmt/control framing), served on its own thread.
#pragma once

#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "sbc/schema/control.pb.h"

namespace sbc::firmware {

using IpcHandler = std::function<schema::DataplaneResponse(const schema::DataplaneRequest&)>;

class IpcServer {
 public:
  // Fails if the socket cannot be created, or if a live process already serves it.
  [[nodiscard]] static std::expected<std::unique_ptr<IpcServer>, std::string> Start(
      const std::string& path, IpcHandler handler);
  ~IpcServer();  // stops the thread, removes the socket file
  uint64_t refused_peers() const { return refused_peers_.load(); }

 private:
  IpcServer() = default;
  void Serve();
  std::string path_;
  IpcHandler handler_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> refused_peers_{0};
  std::thread thread_;
};

}  // namespace sbc::firmware
