#include "sbc/dataplane/core/wire_worker.h"

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cassert>

#include "sbc/drivers/sanitizer/handoff.h"

namespace sbc::dataplane {

WireWorker::WireWorker(std::span<const WireLink> links)
    : link_count_(std::min(links.size(), kMaxLinks)) {
  assert(links.size() <= kMaxLinks);
  std::copy_n(links.begin(), link_count_, links_.begin());
}

void WireWorker::Run(const std::atomic<bool>& stop) noexcept {
  while (!stop.load(std::memory_order_relaxed)) PollOnce();
  for (uint32_t pass = 0; pass < kMaxDrainPasses; ++pass)
    if (PollOnce() == 0) break;
}

uint32_t WireWorker::PollOnce() noexcept {
  uint32_t received = 0;
  for (size_t i = 0; i < link_count_; ++i) received += Forward(links_[i]);
  return received;
}

uint32_t WireWorker::Forward(const WireLink& link) noexcept {
  rte_mbuf* frames[kWireBurst];
  const uint16_t received = rte_eth_rx_burst(link.rx_port_id, link.queue, frames, kWireBurst);
  if (received == 0) return 0;
  drivers::sanitizer::TakeOver(frames, received);

  // Only mbuf metadata is read here: forwarding a frame touches none of its bytes.
  rte_mbuf* runts[kWireBurst];
  uint16_t runt_count = 0;
  uint16_t kept = 0;
  uint64_t rx_bytes = 0;
  uint64_t kept_bytes = 0;
  for (uint16_t i = 0; i < received; ++i) {
    rte_mbuf* frame = frames[i];
    rx_bytes += frame->pkt_len;
    if (frame->data_len < RTE_ETHER_HDR_LEN) {
      runts[runt_count++] = frame;
      continue;
    }
    kept_bytes += frame->pkt_len;
    frames[kept++] = frame;
  }
  PortCounters& rx = counters_.ports[link.rx_slot];
  WorkerCounters::Add(rx.rx_packets, received);
  WorkerCounters::Add(rx.rx_bytes, rx_bytes);
  if (runt_count != 0) {
    rte_pktmbuf_free_bulk(runts, runt_count);
    counters_.AddDrop(DropReason::kRuntFrame, runt_count);
  }
  if (kept == 0) return received;

  drivers::sanitizer::HandOver(frames, kept);
  const uint16_t sent = rte_eth_tx_burst(link.tx_port_id, link.queue, frames, kept);
  if (sent < kept) {
    for (uint16_t i = sent; i < kept; ++i) kept_bytes -= frames[i]->pkt_len;
    rte_pktmbuf_free_bulk(frames + sent, kept - sent);
    counters_.AddDrop(DropReason::kTxQueueFull, kept - sent);
  }
  PortCounters& tx = counters_.ports[link.tx_slot];
  WorkerCounters::Add(tx.tx_packets, sent);
  WorkerCounters::Add(tx.tx_bytes, kept_bytes);
  return received;
}

}  // namespace sbc::dataplane
