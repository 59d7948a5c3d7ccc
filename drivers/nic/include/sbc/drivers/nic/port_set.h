// Bringing up, reading and stopping every data port a board names.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/board/board.h"
#include "sbc/drivers/nic/sim_wire.h"

struct rte_mempool;

namespace sbc::drivers::nic {

// Counters the device itself keeps (rte_eth_stats), as opposed to the dataplane's own.
struct PortStats {
  uint64_t rx_packets = 0;
  uint64_t rx_bytes = 0;
  uint64_t tx_packets = 0;
  uint64_t tx_bytes = 0;
  uint64_t rx_missed = 0;  // dropped by the device: no free RX descriptor
  uint64_t rx_errors = 0;
  uint64_t tx_errors = 0;
  uint64_t rx_no_mbuf = 0;  // RX failed for want of a buffer
};

struct LinkState {
  bool up = false;
  uint32_t speed_mbps = 0;
  bool full_duplex = false;
};

// The data ports of one board, configured with the same number of RX and TX queues
// each (one per worker), symmetric RSS where the device has it, promiscuous (the
// firewall forwards frames for any MAC), and started.
class PortSet {
 public:
  // Control thread, after EAL init. `queues` is the worker count. net_ring ports are
  // created here from rings owned by a SimWire. Fails, naming the port and reason
  // (device not probed, too few queues, DPDK's error), with nothing left open.
  [[nodiscard]] static std::expected<std::unique_ptr<PortSet>, std::string> Open(
      const board::Board& board, uint16_t queues);

  ~PortSet();
  PortSet(const PortSet&) = delete;
  PortSet& operator=(const PortSet&) = delete;

  size_t size() const { return ports_.size(); }
  uint16_t queues() const { return queues_; }
  const std::string& name(size_t index) const { return ports_[index].name; }
  uint16_t port_id(size_t index) const { return ports_[index].port_id; }
  [[nodiscard]] std::optional<size_t> IndexOf(std::string_view name) const;
  rte_mempool* pool() const { return pool_; }

  // The far ends of the ports when every port is a net_ring port (the sim board);
  // nullptr otherwise. Owned by this PortSet.
  SimWire* sim_wire() { return sim_wire_.get(); }

  // Control thread. Device counters; zeroes and an error line if the device refuses.
  [[nodiscard]] std::expected<PortStats, std::string> Stats(size_t index) const;
  [[nodiscard]] LinkState Link(size_t index) const;

  // Stops and closes every port, returns buffers left in rings to the pool, then
  // frees the pool. Control thread, after the workers have stopped. Idempotent.
  void Close();

 private:
  struct Port {
    std::string name;
    std::string device;  // vdev instance name or PCI address
    uint16_t port_id = 0;
    bool started = false;
  };

  PortSet() = default;
  [[nodiscard]] std::expected<void, std::string> Configure(const schema::Port& spec, Port& port);

  std::vector<Port> ports_;
  uint16_t queues_ = 0;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<SimWire> sim_wire_;
};

}  // namespace sbc::drivers::nic
