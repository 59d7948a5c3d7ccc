// One thread per connection, at most `limit` at once: how the daemons' listeners (the
// TLS control API, the console socket) serve their peers. Owns each connection's
// socket: closes it after the connection's thread has ended, so a stopping server
// never shuts down a descriptor number that was already reused.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace sbc::mgmt::control {

class ConnectionThreads {
 public:
  explicit ConnectionThreads(size_t limit) : limit_(limit) {}
  ~ConnectionThreads() { StopAll(); }
  ConnectionThreads(const ConnectionThreads&) = delete;
  ConnectionThreads& operator=(const ConnectionThreads&) = delete;

  // Runs `serve(fd)` on a thread of its own, unless `limit` connections are still
  // open: then it closes `fd` at once and returns false.
  bool Start(int fd, std::function<void(int fd)> serve);
  // Shuts every open connection's socket down (waking its thread) and joins them all.
  void StopAll();

 private:
  struct Connection {
    int fd = -1;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  size_t ReapLocked();  // joins finished threads; returns how many are open

  const size_t limit_;
  std::mutex mutex_;
  std::list<Connection> connections_;
};

}  // namespace sbc::mgmt::control
