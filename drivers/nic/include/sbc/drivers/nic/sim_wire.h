// The far end of the sim board's ports: what a cable and a peer would be.
//
// Each net_ring port is built from rings this class owns: the port receives from its
// RX rings (one per queue) and transmits into its TX rings. The wire side sends frames
// into a port, steering each to a queue by SymmetricFlowHash as a NIC's RSS would,
// and receives what the port transmitted. Tests and the sim demo drive traffic
// through the unmodified dataplane this way.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

struct rte_mbuf;
struct rte_ring;

namespace sbc::drivers::nic {

class SimWire {
 public:
  explicit SimWire(uint16_t queues) : queues_(queues) {}
  // Frees frames still in any ring, then the rings. After the ports are closed.
  ~SimWire();
  SimWire(const SimWire&) = delete;
  SimWire& operator=(const SimWire&) = delete;

  // Control thread. Creates one port's rings (`rx_size`/`tx_size` frames per queue,
  // powers of two) and returns the port's index on the wire.
  [[nodiscard]] std::expected<size_t, std::string> AddPort(const std::string& name,
                                                           uint32_t rx_size, uint32_t tx_size);
  std::span<rte_ring* const> rx_rings(size_t port) const { return ports_[port].rx; }
  std::span<rte_ring* const> tx_rings(size_t port) const { return ports_[port].tx; }
  size_t size() const { return ports_.size(); }

  // The wire's thread only. Offers frames to `port`'s receive side. Returns how many
  // were taken: frames[0, n) now belong to the port; the caller keeps the rest (the
  // chosen RX ring was full) to retry or free.
  [[nodiscard]] uint16_t Send(size_t port, rte_mbuf* const* frames, uint16_t count) noexcept;

  // The wire's thread only. Takes up to `max` frames `port` transmitted, from all its
  // queues; the caller owns them.
  [[nodiscard]] uint16_t Receive(size_t port, rte_mbuf** frames, uint16_t max) noexcept;

  // Frames sent into `port` that no worker has polled yet. Any thread; a snapshot.
  [[nodiscard]] uint32_t PendingRx(size_t port) const noexcept;

 private:
  struct Port {
    std::vector<rte_ring*> rx;   // wire -> port (the port's RX queues)
    std::vector<rte_ring*> tx;   // port -> wire (the port's TX queues)
    uint16_t next_tx_queue = 0;  // round-robin start for Receive
  };

  uint16_t queues_;
  std::vector<Port> ports_;
};

}  // namespace sbc::drivers::nic
