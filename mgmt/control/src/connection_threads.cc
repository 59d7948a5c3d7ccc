#include "sbc/mgmt/control/connection_threads.h"

#include <sys/socket.h>
#include <unistd.h>

namespace sbc::mgmt::control {

bool ConnectionThreads::Start(int fd, std::function<void(int fd)> serve) {
  std::lock_guard lock(mutex_);
  if (ReapLocked() >= limit_) {
    close(fd);
    return false;
  }
  Connection& c = connections_.emplace_back();
  c.fd = fd;
  c.thread = std::thread([&c, serve = std::move(serve)] {
    serve(c.fd);
    shutdown(c.fd, SHUT_RDWR);  // the peer sees the end now; the fd is closed when joined
    c.done = true;
  });
  return true;
}

size_t ConnectionThreads::ReapLocked() {
  size_t open = 0;
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (it->done.load()) {
      it->thread.join();
      close(it->fd);
      it = connections_.erase(it);
    } else {
      ++open;
      ++it;
    }
  }
  return open;
}

void ConnectionThreads::StopAll() {
  std::lock_guard lock(mutex_);
  for (auto& c : connections_) shutdown(c.fd, SHUT_RDWR);
  for (auto& c : connections_) {
    c.thread.join();
    close(c.fd);
  }
  connections_.clear();
}

}  // namespace sbc::mgmt::control
