#include "sbc/dataplane/worker/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>

#include "sbc/dataplane/firewall/own_address.h"
#include "sbc/dataplane/firewall/tcp_state.h"
#include "sbc/drivers/sanitizer/handoff.h"

namespace sbc::dataplane {
namespace {

bool IsIp(const PacketMeta& m) { return m.family == Family::kIpv4 || m.family == Family::kIpv6; }

// The one stage that decides a packet after the input step. A new stage (a slow-path
// punt for STUN and DTLS, say) is a new value here, a list in Burst, and a call in
// Forward() at its place in the order.
enum Next : uint8_t {
  kDrop,        // the input step refused it; its verdict says why
  kOwnAddress,  // a request to one of our addresses: the own-address stage answers it
  kMedia,       // to a relay port: the media relay stage
  kFirewall,    // any other IP packet: the firewall stage
  kBridge,      // ARP for another host: crosses unchanged
  kNextCount,
};

}  // namespace

// One burst on its way through the stages: per packet (by burst position) what the
// input step found and what the stages decided, and per stage the packets routed to
// it, in arrival order (drop and bridge have no stage: the transmit step reads next).
struct Worker::Burst {
  PacketMeta meta[kWireBurst];
  DropReason verdict[kWireBurst];  // kNotDropped: it leaves as its next says
  Next next[kWireBurst];
  OwnAddressRequest own_request[kWireBurst];  // kOwnAddress packets
  uint8_t tx_slot[kWireBurst];  // kMedia: the leg's port, or the owner (kMediaOtherWorker)
  bool held[kWireBurst];        // kMedia: in its session owner's ring, or with the crypto device
  uint16_t which[kNextCount][kWireBurst];
  uint16_t count[kNextCount] = {};

  // Inlined with a constant `to` at every call, so the test folds away.
  void Route(uint16_t i, Next to) {
    next[i] = to;
    if (to != kDrop && to != kBridge) which[to][count[to]++] = i;
  }
};

std::expected<std::unique_ptr<Worker>, std::string> Worker::Create(
    std::span<const WireLink> links, FirewallTableSlot& slot, uint32_t thread_id,
    uint32_t flow_capacity, const MediaStage* media, const std::atomic<uint64_t>* clock) {
  std::unique_ptr<Worker> w(new Worker());
  if (media != nullptr && media->table != nullptr) {
    w->media_table_ = media->table;
    w->media_ =
        std::make_unique<MediaRelay>(*media->table, media->crypto, static_cast<uint8_t>(thread_id));
    if (media->handoff.size() > 1) w->handoff_ = media->handoff;
  }
  for (const WireLink& l : links) {
    w->port_id_of_slot_[l.rx_slot] = l.rx_port_id;
    w->port_id_of_slot_[l.tx_slot] = l.tx_port_id;
  }
  w->slot_ = &slot;
  w->thread_id_ = thread_id;
  w->clock_ = clock;
  w->link_count_ = std::min(links.size(), kMaxLinks);
  std::copy_n(links.begin(), w->link_count_, w->links_.begin());
  auto firewall = FirewallStage::Create(thread_id, flow_capacity);
  if (!firewall) return std::unexpected(firewall.error());
  w->firewall_ = std::move(*firewall);
  return w;
}

uint64_t Worker::flows() const {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(flow_count_))
      .load(std::memory_order_relaxed);
}

uint64_t Worker::Now() const noexcept {
  return clock_ == nullptr ? rte_rdtsc() : clock_->load(std::memory_order_relaxed);
}

void Worker::Run(const std::atomic<bool>& stop) noexcept {
  rte_rcu_qsbr* qsbr = slot_->qsbr();
  rte_rcu_qsbr_thread_register(qsbr, thread_id_);
  rte_rcu_qsbr_thread_online(qsbr, thread_id_);
  // Packets with the crypto device point into their sessions past the poll: a
  // quiescent state is reported only when there are none, and they are waited for
  // (within the crypto bound) only when a grace period waits on this worker.
  auto quiescent = [&] {
    if (media_ != nullptr && media_->busy()) {
      if (!GracePeriodWaitsOn(qsbr, thread_id_)) return;
      FinishMedia(slot_->Current(), /*wait=*/true);
    }
    rte_rcu_qsbr_quiescent(qsbr, thread_id_);
  };
  while (!stop.load(std::memory_order_relaxed)) {
    PollOnce();
    quiescent();
  }
  for (uint32_t pass = 0; pass < kMaxDrainPasses; ++pass) {
    const uint32_t received = PollOnce();
    quiescent();
    if (received == 0) break;
  }
  if (media_ != nullptr) FinishMedia(slot_->Current(), /*wait=*/true);
  rte_rcu_qsbr_thread_offline(qsbr, thread_id_);
  rte_rcu_qsbr_thread_unregister(qsbr, thread_id_);
}

std::span<const rte_ether_addr> Worker::PortMacs(const FirewallTables* tables) noexcept {
  if (tables == nullptr) return {};  // media finished now is dropped as kNoRuleSet
  return tables->port_macs;
}

uint32_t Worker::PollOnce() noexcept {
  const FirewallTables* tables = slot_->Current();
  const uint64_t now = Now();
  if (media_ != nullptr) {                          // before any packet of this poll
    media_->ApplySessionChanges(PortMacs(tables));  // drains first if it must
    FinishMedia(tables, /*wait=*/false);
  }
  if (tables != nullptr) {
    firewall_->SyncMeters(*tables);
    own_address_.SyncMeters(*tables);
  }
  uint32_t received = 0;
  for (size_t i = 0; i < link_count_; ++i) received += Forward(links_[i], tables, now);
  if (!handoff_.empty()) received += TakeHandedOff(tables, now);
  if (media_ != nullptr) FinishMedia(tables, /*wait=*/false);  // done meanwhile
  if (tables != nullptr) firewall_->Sweep(*tables, now);
  std::atomic_ref<uint64_t>(flow_count_).store(firewall_->flows(), std::memory_order_relaxed);
  AddShared(polls_);
  return received;
}

void Worker::Input(const FirewallTables* tables, rte_mbuf** frames, uint16_t n,
                   DropReason whole_burst, uint8_t from_zone, uint8_t to_zone, Burst& b) noexcept {
  // Parse; refuse what no rule may allow (TCP flags no real segment carries, neighbour
  // discovery from beyond the link).
  uint16_t ip[kWireBurst];
  uint16_t ip_count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const PacketMeta& m = b.meta[i];
    DropReason v = ParseFrame(frames[i], &b.meta[i]);
    if (v == kNotDropped && whole_burst != kNotDropped) v = whole_burst;
    if (v == kNotDropped && IsIp(m)) {
      if (m.protocol == kProtoTcp && !m.later_fragment && !ValidTcpFlags(m.tcp_flags))
        v = DropReason::kTcpBadFlags;
      else if (m.protocol == kProtoIcmpV6 && m.hop_limit != 255 && IsNeighbourDiscovery(m))
        v = DropReason::kNdNotFromLink;  // RFC 4861: ND never crosses a router
      else
        ip[ip_count++] = i;
    }
    b.verdict[i] = v;
  }
  // Anti-spoofing in bulk, for every IP packet whichever stage takes it.
  if (ip_count != 0)
    firewall_->CheckSources(*tables, b.meta, ip, ip_count, from_zone, to_zone, b.verdict);

  // One next each. Requests to our own addresses are answered, never forwarded; media
  // to our relay ports is relayed by its session, never by the rules.
  const bool own_addresses = whole_burst == kNotDropped && !tables->local_addresses.empty();
  for (uint16_t i = 0; i < n; ++i) {
    const PacketMeta& m = b.meta[i];
    if (b.verdict[i] != kNotDropped) {
      b.Route(i, kDrop);
      continue;
    }
    // Only ARP, ICMP and ICMPv6 ask us anything: the rest skip the call.
    if (own_addresses &&
        (m.family == Family::kArp || m.protocol == kProtoIcmp || m.protocol == kProtoIcmpV6)) {
      b.own_request[i] = ClassifyOwnAddressRequest(frames[i], m, tables->local_addresses);
      if (b.own_request[i] != OwnAddressRequest::kNone) {
        b.Route(i, kOwnAddress);
        continue;
      }
    }
    if (!IsIp(m))
      b.Route(i, kBridge);
    else if (media_ != nullptr && media_table_->MayBeMedia(m))
      b.Route(i, kMedia);
    else
      b.Route(i, kFirewall);
  }
}

void Worker::RelayMedia(const FirewallTables& tables, rte_mbuf** frames, Burst& b,
                        uint64_t now) noexcept {
  const uint16_t* which = b.which[kMedia];
  const uint16_t count = b.count[kMedia];
  media_->Process(frames, b.meta, which, count, tables.port_macs, now, b.verdict, b.tx_slot,
                  b.held);
  EmitLate();
  if (handoff_.empty()) return;
  // Another worker's sessions: to their owners' rings, in one enqueue per owner.
  for (uint16_t k = 0; k < count; ++k) {
    const uint16_t first = which[k];
    if (b.verdict[first] != DropReason::kMediaOtherWorker || b.held[first] ||
        b.tx_slot[first] >= handoff_.size())
      continue;
    const uint8_t owner = b.tx_slot[first];
    rte_mbuf* batch[kWireBurst];
    uint16_t batch_index[kWireBurst];
    unsigned queued = 0;
    for (uint16_t j = k; j < count; ++j) {
      const uint16_t i = which[j];
      if (b.verdict[i] != DropReason::kMediaOtherWorker || b.held[i] || b.tx_slot[i] != owner)
        continue;
      batch_index[queued] = i;
      batch[queued++] = frames[i];
    }
    const unsigned taken = rte_ring_mp_enqueue_burst(
        handoff_[owner], reinterpret_cast<void* const*>(batch), queued, nullptr);
    for (unsigned j = 0; j < queued; ++j) {
      const uint16_t i = batch_index[j];
      b.held[i] = j < taken;
      if (j >= taken) b.tx_slot[i] = 0xff;  // not taken: dropped as media_other_worker, once
    }
  }
}

uint32_t Worker::TakeHandedOff(const FirewallTables* tables, uint64_t now) noexcept {
  rte_mbuf* frames[kWireBurst];
  // At most kWireBurst: fits the burst indexes.
  const auto n = static_cast<uint16_t>(rte_ring_sc_dequeue_burst(
      handoff_[thread_id_], reinterpret_cast<void**>(frames), kWireBurst, nullptr));
  if (n == 0) return 0;
  PacketMeta meta[kWireBurst];
  uint16_t which[kWireBurst];
  DropReason verdicts[kWireBurst];
  uint8_t tx_slots[kWireBurst];
  bool held[kWireBurst] = {};
  for (uint16_t i = 0; i < n; ++i) {
    verdicts[i] = ParseFrame(frames[i], &meta[i]);  // parsed by the worker that took it in
    if (verdicts[i] == kNotDropped && tables == nullptr) verdicts[i] = DropReason::kNoRuleSet;
    which[i] = i;
  }
  if (tables != nullptr) {
    media_->Process(frames, meta, which, static_cast<uint16_t>(n), tables->port_macs, now, verdicts,
                    tx_slots, held);
    EmitLate();
  }
  // The crypto device's packets come out of a later poll.
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (held[i]) continue;
    frames[kept] = frames[i];
    verdicts[kept] = verdicts[i];
    tx_slots[kept++] = tx_slots[i];
  }
  SendMedia(frames, verdicts, tx_slots, kept);
  return n;
}

void Worker::SendMedia(rte_mbuf** frames, const DropReason* verdicts, const uint8_t* tx_slots,
                       uint16_t n) noexcept {
  rte_mbuf* dropped[kWireBurst];
  rte_mbuf* relayed[kMaxPorts][kWireBurst];
  uint16_t relayed_count[kMaxPorts] = {};
  uint16_t dropped_count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (verdicts[i] == kNotDropped) {
      relayed[tx_slots[i]][relayed_count[tx_slots[i]]++] = frames[i];
    } else {  // kMediaOtherWorker too: handed on once at most
      counters_.AddDrop(verdicts[i], 1);
      if (frames[i] != nullptr) dropped[dropped_count++] = frames[i];  // else the device's
    }
  }
  if (dropped_count != 0) rte_pktmbuf_free_bulk(dropped, dropped_count);
  const uint16_t queue = links_[0].queue;
  for (uint8_t out = 0; out < kMaxPorts; ++out)
    if (relayed_count[out] != 0)
      Transmit(port_id_of_slot_[out], queue, out, relayed[out], relayed_count[out]);
}

void Worker::EmitLate() noexcept {
  const std::span<const MediaRelay::Late> late = media_->late();
  if (late.empty()) [[likely]]
    return;
  for (size_t first = 0; first < late.size(); first += kWireBurst) {
    const auto n = static_cast<uint16_t>(std::min<size_t>(kWireBurst, late.size() - first));
    rte_mbuf* frames[kWireBurst];
    DropReason verdicts[kWireBurst];
    uint8_t tx_slots[kWireBurst];
    for (uint16_t i = 0; i < n; ++i) {
      const MediaRelay::Late& l = late[first + i];
      frames[i] = l.frame;
      verdicts[i] = l.verdict;
      tx_slots[i] = l.tx_slot;
    }
    SendMedia(frames, verdicts, tx_slots, n);
  }
  media_->TakeLate();
}

void Worker::FinishMedia(const FirewallTables* tables, bool wait) noexcept {
  if (media_->busy()) {
    const std::span<const rte_ether_addr> macs = PortMacs(tables);
    if (wait)
      media_->Drain(macs);
    else
      media_->Poll(macs);
  }
  EmitLate();  // a drain for a session change leaves some too
}

uint32_t Worker::Forward(const WireLink& link, const FirewallTables* tables,
                         uint64_t now) noexcept {
  rte_mbuf* frames[kWireBurst];
  const uint16_t n = rte_eth_rx_burst(link.rx_port_id, link.queue, frames, kWireBurst);
  if (n == 0) return 0;
  drivers::sanitizer::TakeOver(frames, n);

  // Every frame's descriptor, then its headers, asked for before any is parsed, so
  // the misses overlap (a NIC's receive path leaves descriptors warm; virtual ports
  // and memory-mapped rings may not).
  for (uint16_t i = 0; i < n; ++i) rte_prefetch0(frames[i]);
  uint64_t rx_bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rx_bytes += frames[i]->pkt_len;
    rte_prefetch0(rte_pktmbuf_mtod(frames[i], const void*));
  }
  PortCounters& rx = counters_.ports[link.rx_slot];
  WorkerCounters::Add(rx.rx_packets, n);
  WorkerCounters::Add(rx.rx_bytes, rx_bytes);

  const uint8_t from_zone = tables ? tables->zone_of_port[link.rx_slot] : kNoZone;
  const uint8_t to_zone = tables ? tables->zone_of_port[link.tx_slot] : kNoZone;
  const DropReason whole_burst = tables == nullptr ? DropReason::kNoRuleSet
                                 : (from_zone == kNoZone || to_zone == kNoZone)
                                     ? DropReason::kPortWithoutZone
                                     : kNotDropped;
  Burst b;
  Input(tables, frames, n, whole_burst, from_zone, to_zone, b);
  // The stages, in their fixed order, each over its own packets.
  if (b.count[kOwnAddress] != 0)
    own_address_.Answer(*tables, frames, b.meta, b.which[kOwnAddress], b.count[kOwnAddress],
                        b.own_request, link.rx_slot, now, b.verdict);
  if (b.count[kMedia] != 0) RelayMedia(*tables, frames, b, now);
  if (b.count[kFirewall] != 0)
    firewall_->Decide(*tables, frames, b.meta, b.which[kFirewall], b.count[kFirewall], from_zone,
                      to_zone, link.rx_slot, now, b.verdict);
  Emit(link, frames, n, b, now);
  return n;
}

void Worker::Emit(const WireLink& link, rte_mbuf** frames, uint16_t n, const Burst& b,
                  uint64_t now) noexcept {
  rte_mbuf* dropped[kWireBurst];
  rte_mbuf* replies[kWireBurst];
  rte_mbuf* relayed[kMaxPorts][kWireBurst];
  uint16_t relayed_count[kMaxPorts] = {};
  uint16_t kept = 0, dropped_count = 0, reply_count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const Next next = b.next[i];
    if (next == kMedia && b.held[i]) continue;  // the owner's ring or the crypto device has it
    if (b.verdict[i] != kNotDropped) {
      counters_.AddDrop(b.verdict[i], 1);
      if (frames[i] != nullptr) dropped[dropped_count++] = frames[i];  // else the device's
      if (IsIp(b.meta[i])) firewall_->log().Record(b.meta[i], b.verdict[i], link.rx_slot, 0, now);
    } else if (next == kOwnAddress) {
      replies[reply_count++] = frames[i];
    } else if (next == kMedia) {
      relayed[b.tx_slot[i]][relayed_count[b.tx_slot[i]]++] = frames[i];
    } else {
      frames[kept++] = frames[i];
    }
  }
  if (dropped_count != 0) rte_pktmbuf_free_bulk(dropped, dropped_count);
  if (reply_count != 0) Transmit(link.rx_port_id, link.queue, link.rx_slot, replies, reply_count);
  for (uint8_t out = 0; out < kMaxPorts; ++out)
    if (relayed_count[out] != 0)
      Transmit(port_id_of_slot_[out], link.queue, out, relayed[out], relayed_count[out]);
  if (kept != 0) Transmit(link.tx_port_id, link.queue, link.tx_slot, frames, kept);
}

void Worker::Transmit(uint16_t port_id, uint16_t queue, uint8_t slot, rte_mbuf** frames,
                      uint16_t count) noexcept {
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) bytes += frames[i]->pkt_len;
  drivers::sanitizer::HandOver(frames, count);
  const uint16_t sent = rte_eth_tx_burst(port_id, queue, frames, count);
  if (sent < count) {
    for (uint16_t i = sent; i < count; ++i) bytes -= frames[i]->pkt_len;
    rte_pktmbuf_free_bulk(frames + sent, count - sent);
    counters_.AddDrop(DropReason::kTxQueueFull, count - sent);
  }
  PortCounters& tx = counters_.ports[slot];
  WorkerCounters::Add(tx.tx_packets, sent);
  WorkerCounters::Add(tx.tx_bytes, bytes);
}

}  // namespace sbc::dataplane
