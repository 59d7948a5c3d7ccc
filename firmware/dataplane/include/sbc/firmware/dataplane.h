// The running dataplane: the board's ports brought up and one poll-mode worker per
// worker core forwarding between the ports of each pair.
#pragma once

#include <atomic>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "sbc/board/board.h"
#include "sbc/dataplane/counters.h"
#include "sbc/dataplane/wire_worker.h"
#include "sbc/drivers/nic/port_set.h"

namespace sbc::firmware {

class Dataplane {
 public:
  // Control thread (EAL main lcore), after EAL init. Opens every port with one queue
  // per worker, then launches a WireWorker on each worker core (lcore id = core id,
  // as drivers::EalArguments sets up). Fails with one line and nothing left running.
  [[nodiscard]] static std::expected<std::unique_ptr<Dataplane>, std::string> Start(
      const board::Board& board);

  // Stops the workers and closes the ports.
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Control thread. Tells every worker to stop, waits while each drains what its
  // queues already hold, and returns when all have returned. Idempotent.
  void Stop();

  // Control thread. Closes the ports and frees the buffer pool; after Stop().
  void Close();

  // Control thread; safe while workers run.
  [[nodiscard]] dataplane::CounterTotals Counters() const;

  const board::Board& board() const { return board_; }
  drivers::nic::PortSet& ports() { return *ports_; }
  bool running() const { return running_; }

 private:
  explicit Dataplane(const board::Board& board) : board_(board) {}
  [[nodiscard]] std::expected<void, std::string> LaunchWorkers();

  board::Board board_;
  std::unique_ptr<drivers::nic::PortSet> ports_;
  std::vector<std::unique_ptr<dataplane::WireWorker>> workers_;
  std::vector<unsigned> worker_lcores_;
  std::atomic<bool> stop_{false};
  bool running_ = false;
};

// A plain-text table of per-port counters (ours and the device's) and per-reason
// drops, for the console and logs. Control thread.
[[nodiscard]] std::string FormatCounters(Dataplane& dataplane);

}  // namespace sbc::firmware
