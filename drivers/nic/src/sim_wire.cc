#include "sbc/drivers/nic/sim_wire.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "sbc/drivers/nic/rss.h"
#include "sbc/drivers/sanitizer/handoff.h"

namespace sbc::drivers::nic {
namespace {

void FreeRing(rte_ring* ring) {
  if (ring == nullptr) return;
  rte_mbuf* frame = nullptr;
  while (rte_ring_dequeue(ring, reinterpret_cast<void**>(&frame)) == 0) {
    sanitizer::TakeOver(frame);
    rte_pktmbuf_free(frame);
  }
  rte_ring_free(ring);
}

}  // namespace

SimWire::~SimWire() {
  for (Port& port : ports_) {
    for (rte_ring* ring : port.rx) FreeRing(ring);
    for (rte_ring* ring : port.tx) FreeRing(ring);
  }
}

std::expected<size_t, std::string> SimWire::AddPort(const std::string& name, uint32_t rx_size,
                                                    uint32_t tx_size) {
  Port port;
  auto make_ring = [&](const char* side, uint16_t queue,
                       uint32_t size) -> std::expected<rte_ring*, std::string> {
    // Each ring has exactly one producer and one consumer: the wire and one worker.
    const std::string ring_name = "w_" + name + "_" + side + std::to_string(queue);
    rte_ring* ring = rte_ring_create(ring_name.c_str(), size, static_cast<int>(rte_socket_id()),
                                     RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
    if (ring == nullptr)
      return std::unexpected("sim wire: cannot create ring " + ring_name + ": " +
                             rte_strerror(rte_errno));
    return ring;
  };
  for (uint16_t q = 0; q < queues_; ++q) {
    auto rx = make_ring("rx", q, rx_size);
    auto tx = rx ? make_ring("tx", q, tx_size) : std::unexpected(rx.error());
    if (rx) port.rx.push_back(*rx);
    if (tx) port.tx.push_back(*tx);
    if (!tx) {
      for (rte_ring* ring : port.rx) FreeRing(ring);
      for (rte_ring* ring : port.tx) FreeRing(ring);
      return std::unexpected(tx.error());
    }
  }
  ports_.push_back(std::move(port));
  return ports_.size() - 1;
}

uint16_t SimWire::Send(size_t port, rte_mbuf* const* frames, uint16_t count) noexcept {
  Port& p = ports_[port];
  // Each frame marked as handed to the worker that polls its ring (net_ring's rx), after
  // this thread's last look at it.
  if (queues_ == 1) {
    sanitizer::HandOver(frames, count);
    return static_cast<uint16_t>(
        rte_ring_sp_enqueue_burst(p.rx[0], reinterpret_cast<void* const*>(frames), count, nullptr));
  }
  for (uint16_t i = 0; i < count; ++i) {
    const uint16_t queue = static_cast<uint16_t>(SymmetricFlowHash(frames[i]) % queues_);
    sanitizer::HandOver(frames[i]);
    if (rte_ring_sp_enqueue(p.rx[queue], frames[i]) != 0) return i;
  }
  return count;
}

uint16_t SimWire::Receive(size_t port, rte_mbuf** frames, uint16_t max) noexcept {
  Port& p = ports_[port];
  uint16_t taken = 0;
  for (uint16_t i = 0; i < queues_ && taken < max; ++i) {
    const uint16_t queue = static_cast<uint16_t>((p.next_tx_queue + i) % queues_);
    taken += static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
        p.tx[queue], reinterpret_cast<void**>(frames + taken), max - taken, nullptr));
  }
  p.next_tx_queue = static_cast<uint16_t>((p.next_tx_queue + 1) % queues_);
  sanitizer::TakeOver(frames, taken);  // from the worker that sent them (net_ring's tx)
  return taken;
}

uint32_t SimWire::PendingRx(size_t port) const noexcept {
  uint32_t pending = 0;
  for (const rte_ring* ring : ports_[port].rx) pending += rte_ring_count(ring);
  return pending;
}

}  // namespace sbc::drivers::nic
