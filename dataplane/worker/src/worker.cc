#include "sbc/dataplane/worker/worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>

#include "sbc/dataplane/firewall/own_address.h"
#include "sbc/dataplane/firewall/tcp_state.h"
#include "sbc/drivers/sanitizer/handoff.h"

namespace sbc::dataplane {
namespace {

// Expiry: each poll looks at the next 64 positions of the connection table (one word
// of its occupancy bitmap; the entries found are adjacent in memory). At a few hundred
// thousand polls a second that cycles a million-entry table in well under a second,
// and a sparse or empty table costs as little as a full one (sweeping with
// rte_hash_iterate scanned every empty slot up to the next entry, per poll).

// Packet log: per worker, at most this many records a second (bursts of kLogBurst)
// reach the control thread; the rest are counted as suppressed.
constexpr uint32_t kLogPerSecond = 100;
constexpr uint32_t kLogBurst = 200;
constexpr uint32_t kLogCapacity = 1024;

union AclKey {
  AclKey4 v4;
  AclKey6 v6;
};

template <typename Key>
void FillHeader(Key& k, const PacketMeta& m, uint8_t from_zone, uint8_t to_zone) {
  k.protocol = m.protocol;
  k.from_zone = from_zone;
  k.to_zone = to_zone;
  k.later_fragment = m.later_fragment ? 1 : 0;
  k.src_port = rte_cpu_to_be_16(m.later_fragment ? 0 : m.src_port);
  k.dst_port = rte_cpu_to_be_16(m.later_fragment ? 0 : m.dst_port);
}

void FillAclKey(AclKey& key, const PacketMeta& m, uint8_t from_zone, uint8_t to_zone) {
  if (m.family == Family::kIpv6) {
    std::memset(&key.v6, 0, sizeof(key.v6));
    FillHeader(key.v6, m, from_zone, to_zone);
    std::memcpy(key.v6.src, m.src.data(), 16);
    std::memcpy(key.v6.dst, m.dst.data(), 16);
  } else {
    std::memset(&key.v4, 0, sizeof(key.v4));
    FillHeader(key.v4, m, from_zone, to_zone);
    std::memcpy(key.v4.src, m.src.data(), 4);
    std::memcpy(key.v4.dst, m.dst.data(), 4);
  }
}

bool IsIp(const PacketMeta& m) { return m.family == Family::kIpv4 || m.family == Family::kIpv6; }

// Packets of one burst queued for one rte_acl lookup per address family.
class AclBatch {
 public:
  using Classify = void (FirewallTables::*)(const uint8_t**, uint32_t*, uint32_t) const;

  void Add(uint16_t packet, const PacketMeta& meta, const AclKey& key) {
    Queue& f = meta.family == Family::kIpv6 ? v6_ : v4_;
    f.packet[f.count] = packet;
    f.data[f.count++] = reinterpret_cast<const uint8_t*>(&key);
  }
  // Looks every queued key up (`v4`/`v6` name the tables' lookups) and hands each
  // packet's result to `use(packet, result)`.
  template <typename Use>
  void Run(const FirewallTables* tables, Classify v4, Classify v6, Use use) {
    for (auto [f, classify] : {std::pair{&v4_, v4}, std::pair{&v6_, v6}}) {
      if (f->count == 0) continue;
      uint32_t results[kWireBurst];
      (tables->*classify)(f->data, results, f->count);
      for (uint32_t j = 0; j < f->count; ++j) use(f->packet[j], results[j]);
    }
  }

 private:
  struct Queue {
    const uint8_t* data[kWireBurst];
    uint16_t packet[kWireBurst];
    uint32_t count = 0;
  };
  Queue v4_, v6_;
};

// ICMP other than echo, and later fragments, carry no flow identity: they pass or
// fail on the rules alone.
bool IsStateless(const PacketMeta& m) {
  if (m.later_fragment) return true;
  const uint8_t type = static_cast<uint8_t>(m.src_port >> 8);
  if (m.protocol == kProtoIcmp) return !(type == 8 || type == 0);
  if (m.protocol == kProtoIcmpV6) return !(type == 128 || type == 129);
  return false;
}

bool MeterAllows(rte_meter_srtcm& meter, const rte_meter_srtcm_profile& profile, uint64_t now) {
  return rte_meter_srtcm_color_blind_check(&meter, const_cast<rte_meter_srtcm_profile*>(&profile),
                                           now, 1) == RTE_COLOR_GREEN;
}

}  // namespace

// Per-packet decision state within one burst.
struct Worker::Slot {
  DropReason verdict = kNotDropped;
  bool own_address = false;  // a request to us, turned into its reply
  bool media = false;        // to a relay port: the media relay decides
  bool handed_off = false;   // now in its session owner's ring
  uint8_t media_tx_slot = 0;
  int32_t flow = -1;  // connection-table position for a hit
  bool is_a = false;
  bool needs_rules = false;
  uint32_t rule_result = 0;
  FlowKey key;

  // Still for the firewall to decide (connection tracking and the rules).
  bool ForFirewall(const PacketMeta& m) const {
    return verdict == kNotDropped && !own_address && !media && IsIp(m);
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
  w->rule_counters_.resize(kMaxRules);
  w->rule_meters_.resize(kMaxRules);
  const std::string id = std::to_string(thread_id);
  auto conntrack = ConnectionTracker::Create(id, flow_capacity);
  if (!conntrack) return std::unexpected(conntrack.error());
  w->conntrack_ = std::move(*conntrack);
  auto log = PacketLog::Create("sbc_log_" + id, kLogCapacity, kLogPerSecond, kLogBurst);
  if (!log) return std::unexpected(log.error());
  w->log_ = std::move(*log);
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
  while (!stop.load(std::memory_order_relaxed)) {
    PollOnce();
    rte_rcu_qsbr_quiescent(qsbr, thread_id_);
  }
  for (uint32_t pass = 0; pass < kMaxDrainPasses; ++pass) {
    const uint32_t received = PollOnce();
    rte_rcu_qsbr_quiescent(qsbr, thread_id_);
    if (received == 0) break;
  }
  rte_rcu_qsbr_thread_offline(qsbr, thread_id_);
  rte_rcu_qsbr_thread_unregister(qsbr, thread_id_);
}

uint32_t Worker::PollOnce() noexcept {
  const FirewallTables* tables = slot_->Current();
  const uint64_t now = Now();
  if (tables != nullptr) SyncMeters(tables);
  uint32_t received = 0;
  for (size_t i = 0; i < link_count_; ++i) received += Forward(links_[i], tables, now);
  if (!handoff_.empty()) received += TakeHandedOff(tables, now);
  if (tables != nullptr) conntrack_->Sweep(*tables, now);
  std::atomic_ref<uint64_t>(flow_count_).store(conntrack_->size(), std::memory_order_relaxed);
  return received;
}

void Worker::SyncMeters(const FirewallTables* tables) noexcept {
  if (meters_generation_ == tables->generation) return;
  // Rule indexes mean other rules now: every meter starts with a full bucket.
  for (size_t r = 0; r < tables->rule_count; ++r)
    if (tables->rules[r].metered)
      rte_meter_srtcm_config(&rule_meters_[r],
                             const_cast<rte_meter_srtcm_profile*>(&tables->rules[r].meter));
  rte_meter_srtcm_config(&resolution_meter_,
                         const_cast<rte_meter_srtcm_profile*>(&tables->resolution_meter));
  rte_meter_srtcm_config(&echo_meter_, const_cast<rte_meter_srtcm_profile*>(&tables->echo_meter));
  meters_generation_ = tables->generation;
}

bool Worker::RuleMeterAllows(const FirewallTables* tables, uint32_t rule, uint64_t now) noexcept {
  if (!tables->rules[rule].metered) return true;
  return MeterAllows(rule_meters_[rule], tables->rules[rule].meter, now);
}

uint32_t Worker::ClassifyOne(const FirewallTables* tables, const PacketMeta& meta,
                             uint8_t from_zone, uint8_t to_zone) const noexcept {
  AclKey acl;
  FillAclKey(acl, meta, from_zone, to_zone);
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&acl)};
  uint32_t result = 0;
  if (meta.family == Family::kIpv6)
    tables->ClassifyRules6(data, &result, 1);
  else
    tables->ClassifyRules4(data, &result, 1);
  return result;
}

// After a rule swap, a flow keeps passing only if the new rules still allow its
// first direction. Checked lazily, once per flow and generation.
bool Worker::StillAllowed(const FirewallTables* tables, int32_t position) noexcept {
  FlowEntry& entry = conntrack_->flows().at(position);
  const FlowKey& key = conntrack_->flows().key(position);
  PacketMeta origin{};
  origin.family = static_cast<Family>(key.family);
  origin.protocol = key.protocol;
  const bool a = entry.originator_is_a;
  std::memcpy(origin.src.data(), a ? key.addr_a : key.addr_b, 16);
  std::memcpy(origin.dst.data(), a ? key.addr_b : key.addr_a, 16);
  origin.src_port = a ? key.port_a : key.port_b;
  origin.dst_port = a ? key.port_b : key.port_a;
  if (key.protocol == kProtoIcmp || key.protocol == kProtoIcmpV6)
    origin.src_port = static_cast<uint16_t>((key.protocol == kProtoIcmp ? 8 : 128) << 8);
  const uint32_t result = ClassifyOne(tables, origin, entry.from_zone, entry.to_zone);
  if (result == 0) return false;
  entry.rule = result - 1;
  entry.generation = tables->generation;
  return true;
}

void Worker::AnswerOwnAddresses(const FirewallTables& tables, rte_mbuf** frames,
                                const PacketMeta* meta, Slot* slots, uint16_t n, uint8_t rx_slot,
                                uint64_t now) noexcept {
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    const PacketMeta& m = meta[i];
    // Only ARP, ICMP and ICMPv6 ask us anything: the rest skip the call.
    if (s.verdict != kNotDropped ||
        (m.family != Family::kArp && m.protocol != kProtoIcmp && m.protocol != kProtoIcmpV6))
      continue;
    const OwnAddressRequest kind =
        ClassifyOwnAddressRequest(frames[i], meta[i], tables.local_addresses);
    if (kind == OwnAddressRequest::kNone) continue;
    s.own_address = true;
    const bool resolution = kind == OwnAddressRequest::kResolution;
    const bool allowed = resolution ? MeterAllows(resolution_meter_, tables.resolution_meter, now)
                                    : MeterAllows(echo_meter_, tables.echo_meter, now);
    if (!allowed || !MakeOwnAddressReply(frames[i], meta[i], tables.port_macs[rx_slot]))
      s.verdict = resolution ? DropReason::kResolutionLimited : DropReason::kEchoLimited;
  }
}

void Worker::RelayMedia(const FirewallTables& tables, rte_mbuf** frames, const PacketMeta* meta,
                        Slot* slots, uint16_t n, uint64_t now) noexcept {
  uint16_t which[kWireBurst];
  uint16_t count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (s.verdict != kNotDropped || s.own_address || !IsIp(meta[i]) ||
        !media_table_->MayBeMedia(meta[i]))
      continue;
    s.media = true;
    which[count++] = i;
  }
  if (count == 0) return;
  DropReason verdicts[kWireBurst];
  uint8_t tx_slots[kWireBurst];
  for (uint16_t k = 0; k < count; ++k) verdicts[which[k]] = kNotDropped;
  media_->Process(frames, meta, which, count, tables.port_macs, now, verdicts, tx_slots);
  for (uint16_t k = 0; k < count; ++k) {
    Slot& s = slots[which[k]];
    s.verdict = verdicts[which[k]];
    s.media_tx_slot = tx_slots[which[k]];
  }
  if (handoff_.empty()) return;
  // Another worker's sessions: to their owners' rings, in one enqueue per owner.
  for (uint16_t k = 0; k < count; ++k) {
    const Slot& first = slots[which[k]];
    if (first.verdict != DropReason::kMediaOtherWorker || first.handed_off ||
        first.media_tx_slot >= handoff_.size())
      continue;
    const uint8_t owner = first.media_tx_slot;
    rte_mbuf* batch[kWireBurst];
    uint16_t batch_index[kWireBurst];
    unsigned queued = 0;
    for (uint16_t j = k; j < count; ++j) {
      const Slot& s = slots[which[j]];
      if (s.verdict != DropReason::kMediaOtherWorker || s.handed_off || s.media_tx_slot != owner)
        continue;
      batch_index[queued] = which[j];
      batch[queued++] = frames[which[j]];
    }
    const unsigned taken = rte_ring_mp_enqueue_burst(
        handoff_[owner], reinterpret_cast<void* const*>(batch), queued, nullptr);
    for (unsigned j = 0; j < queued; ++j) {
      Slot& s = slots[batch_index[j]];
      s.handed_off = j < taken;
      if (j >= taken)
        s.media_tx_slot =
            0xff;  // not taken: dropped as media_other_worker, and not looked at again
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
  for (uint16_t i = 0; i < n; ++i) {
    verdicts[i] = ParseFrame(frames[i], &meta[i]);  // parsed by the worker that took it in
    if (verdicts[i] == kNotDropped && tables == nullptr) verdicts[i] = DropReason::kNoRuleSet;
    which[i] = i;
  }
  if (tables != nullptr)
    media_->Process(frames, meta, which, static_cast<uint16_t>(n), tables->port_macs, now, verdicts,
                    tx_slots);
  rte_mbuf* dropped[kWireBurst];
  rte_mbuf* relayed[kMaxPorts][kWireBurst];
  uint16_t relayed_count[kMaxPorts] = {};
  uint16_t dropped_count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (verdicts[i] == kNotDropped) {
      relayed[tx_slots[i]][relayed_count[tx_slots[i]]++] = frames[i];
    } else {  // kMediaOtherWorker too: handed on once at most
      counters_.AddDrop(verdicts[i], 1);
      dropped[dropped_count++] = frames[i];
    }
  }
  if (dropped_count != 0) rte_pktmbuf_free_bulk(dropped, dropped_count);
  const uint16_t queue = links_[0].queue;
  for (uint8_t out = 0; out < kMaxPorts; ++out)
    if (relayed_count[out] != 0)
      Transmit(port_id_of_slot_[out], queue, out, relayed[out], relayed_count[out]);
  return n;
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

  PacketMeta meta[kWireBurst];
  Slot slots[kWireBurst];
  AclKey keys[kWireBurst];
  const uint8_t from_zone = tables ? tables->zone_of_port[link.rx_slot] : kNoZone;
  const uint8_t to_zone = tables ? tables->zone_of_port[link.tx_slot] : kNoZone;
  const DropReason whole_burst = tables == nullptr ? DropReason::kNoRuleSet
                                 : (from_zone == kNoZone || to_zone == kNoZone)
                                     ? DropReason::kPortWithoutZone
                                     : kNotDropped;

  // 1. Parse; refuse what no rule may allow (TCP flags no real segment carries,
  //    neighbour discovery from beyond the link); build lookup keys; anti-spoofing in
  //    bulk per family.
  AclBatch sources;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    const PacketMeta& m = meta[i];
    s.verdict = ParseFrame(frames[i], &meta[i]);
    if (s.verdict == kNotDropped && whole_burst != kNotDropped) s.verdict = whole_burst;
    if (s.verdict != kNotDropped || !IsIp(m)) continue;
    if (m.protocol == kProtoTcp && !m.later_fragment && !ValidTcpFlags(m.tcp_flags)) {
      s.verdict = DropReason::kTcpBadFlags;
      continue;
    }
    if (m.protocol == kProtoIcmpV6 && m.hop_limit != 255 && IsNeighbourDiscovery(m)) {
      s.verdict = DropReason::kNdNotFromLink;  // RFC 4861: ND never crosses a router
      continue;
    }
    FillAclKey(keys[i], m, from_zone, to_zone);
    sources.Add(i, m, keys[i]);
  }
  sources.Run(tables, &FirewallTables::ClassifySources4, &FirewallTables::ClassifySources6,
              [&](uint16_t i, uint32_t allowed) {
                if (allowed == 0) slots[i].verdict = DropReason::kSpoofedSource;
              });

  // 1b. Requests to our own addresses are answered here, never forwarded.
  if (whole_burst == kNotDropped && !tables->local_addresses.empty())
    AnswerOwnAddresses(*tables, frames, meta, slots, n, link.rx_slot, now);

  // 1c. Media to our relay ports: relayed by its session, never by the rules.
  if (media_ != nullptr && whole_burst == kNotDropped)
    RelayMedia(*tables, frames, meta, slots, n, now);

  // 2. Connection lookup, in bulk; misses need the rules.
  const FlowKey* lookup_keys[kWireBurst];
  uint16_t lookup_index[kWireBurst];
  int32_t positions[kWireBurst];
  uint32_t lookups = 0;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (!s.ForFirewall(meta[i]) || IsStateless(meta[i])) continue;
    s.key = MakeFlowKey(meta[i], from_zone, to_zone, &s.is_a);
    lookup_keys[lookups] = &s.key;
    lookup_index[lookups++] = i;
  }
  FlowTable& flows = conntrack_->flows();
  flows.FindBulk(lookup_keys, lookups, positions);
  for (uint32_t j = 0; j < lookups; ++j)
    if (positions[j] >= 0) flows.Prefetch(positions[j]);
  for (uint32_t j = 0; j < lookups; ++j) slots[lookup_index[j]].flow = positions[j];

  // Positions from the bulk lookup go stale when a flow is removed (two packets of one
  // expired flow, or one evicted by a new flow's limits): each removal is counted,
  // and a position is re-checked only when one happened since it was looked up.
  uint64_t removals_seen = conntrack_->removals();
  auto stale = [&](const Slot& s) {
    return s.flow >= 0 && conntrack_->removals() != removals_seen &&
           !conntrack_->Holds(s.flow, s.key);
  };
  AclBatch misses;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (!s.ForFirewall(meta[i])) continue;
    if (stale(s)) s.flow = -1;  // an earlier packet of this burst ended it
    if (s.flow >= 0) {
      const FlowEntry& e = flows.at(s.flow);
      if (conntrack_->Expired(*tables, e, now) ||
          (e.generation != tables->generation && !StillAllowed(tables, s.flow))) {
        conntrack_->Remove(s.flow);
        s.flow = -1;
      }
      if (s.flow >= 0) continue;
    }
    s.needs_rules = true;
    misses.Add(i, meta[i], keys[i]);
  }
  // 3. The allowlist, in bulk.
  misses.Run(tables, &FirewallTables::ClassifyRules4, &FirewallTables::ClassifyRules6,
             [&](uint16_t i, uint32_t result) { slots[i].rule_result = result; });

  // 4. Decide in arrival order (a burst may open a flow and then use it, or end one a
  //    later packet of the burst still holds the position of).
  removals_seen = conntrack_->removals();
  bool opened = false;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    const PacketMeta& m = meta[i];
    if (!s.ForFirewall(m)) continue;
    if (!IsStateless(m) && ((s.needs_rules && opened) || stale(s))) {
      // Opened, or ended, by an earlier packet of this burst: look again.
      s.flow = flows.Find(s.key);
      if (s.flow >= 0) {
        s.needs_rules = false;
      } else if (!s.needs_rules) {
        s.needs_rules = true;
        s.rule_result = ClassifyOne(tables, m, from_zone, to_zone);
      }
    }
    uint32_t rule = 0;
    if (!s.needs_rules) {
      FlowEntry& e = flows.at(s.flow);
      s.verdict = conntrack_->Track(*tables, s.flow, s.is_a == e.originator_is_a, m);
      rule = e.rule;
      if (s.verdict == kNotDropped) e.last_seen_tsc = now;
    } else if (s.rule_result == 0) {
      s.verdict = m.later_fragment ? DropReason::kFragment : DropReason::kDenied;
      continue;
    } else {
      rule = s.rule_result - 1;
    }
    if (s.verdict == kNotDropped && !RuleMeterAllows(tables, rule, now))
      s.verdict = DropReason::kRateLimited;
    if (s.verdict == kNotDropped && s.needs_rules && !IsStateless(m)) {
      const FlowOrigin origin{
          .source_is_a = s.is_a, .rule = rule, .from_zone = from_zone, .to_zone = to_zone};
      s.verdict = conntrack_->Open(*tables, s.key, m, origin, now, &s.flow);
      opened |= s.verdict == kNotDropped;
      if (s.verdict == kNotDropped && tables->rules[rule].log)
        log_->Record(m, kNotDropped, link.rx_slot, rule, now);
    }
    if (s.verdict != kNotDropped) continue;
    RuleCounter& rc = rule_counters_[rule];
    WorkerCounters::Add(rc.packets, 1);
    WorkerCounters::Add(rc.bytes, frames[i]->pkt_len);
  }

  // 5. Forward what passed, answer our own requests, count and free the rest.
  rte_mbuf* dropped[kWireBurst];
  rte_mbuf* replies[kWireBurst];
  rte_mbuf* relayed[kMaxPorts][kWireBurst];
  uint16_t relayed_count[kMaxPorts] = {};
  uint16_t kept = 0, dropped_count = 0, reply_count = 0;
  for (uint16_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    if (s.handed_off) continue;  // the owner's ring holds it
    if (s.verdict != kNotDropped) {
      counters_.AddDrop(s.verdict, 1);
      dropped[dropped_count++] = frames[i];
      if (IsIp(meta[i])) log_->Record(meta[i], s.verdict, link.rx_slot, 0, now);
    } else if (s.own_address) {
      replies[reply_count++] = frames[i];
    } else if (s.media) {
      relayed[s.media_tx_slot][relayed_count[s.media_tx_slot]++] = frames[i];
    } else {
      frames[kept++] = frames[i];
    }
  }
  if (dropped_count != 0) rte_pktmbuf_free_bulk(dropped, dropped_count);
  if (reply_count != 0) Transmit(link.rx_port_id, link.queue, link.rx_slot, replies, reply_count);
  for (uint8_t out = 0; out < kMaxPorts; ++out)
    if (relayed_count[out] != 0)
      Transmit(port_id_of_slot_[out], link.queue, out, relayed[out], relayed_count[out]);
  if (kept == 0) return n;
  Transmit(link.tx_port_id, link.queue, link.tx_slot, frames, kept);
  return n;
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
