#include "sbc/dataplane/firewall_worker.h"
#include "sbc/dataplane/own_address.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include <algorithm>
#include <cstring>

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

constexpr uint8_t kIcmpV6RouterSolicit = 133;
constexpr uint8_t kIcmpV6Redirect = 137;

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
  const bool icmp = m.protocol == kProtoIcmp || m.protocol == kProtoIcmpV6;
  const uint8_t type = static_cast<uint8_t>(m.src_port >> 8);
  if (m.protocol == kProtoIcmp) return !(type == 8 || type == 0);
  if (m.protocol == kProtoIcmpV6) return !(type == 128 || type == 129);
  return icmp;
}

// IPv6 neighbour and router discovery: a transparent bump in the wire must let it
// cross, as it lets ARP cross, or neither side could reach the other.
bool IsNeighbourDiscovery(const PacketMeta& m) {
  if (m.family != Family::kIpv6 || m.protocol != kProtoIcmpV6) return false;
  const uint8_t type = static_cast<uint8_t>(m.src_port >> 8);
  return type >= kIcmpV6RouterSolicit && type < kIcmpV6Redirect;
}

uint64_t Timeout(const FirewallTables* t, FlowState state) {
  switch (state) {
    case FlowState::kUdp: return t->udp_tsc;
    case FlowState::kIcmp: return t->icmp_tsc;
    case FlowState::kTcpEstablished: return t->tcp_established_tsc;
    default: return t->tcp_transitory_tsc;
  }
}

bool IsHalfOpen(FlowState s) { return s == FlowState::kTcpSynSent || s == FlowState::kTcpSynReceived; }

// Per-packet decision state within one burst.
struct Slot {
  DropReason verdict = kNotDropped;
  bool own_address = false;  // a request to us, turned into its reply
  bool media = false;        // to a relay port: the media relay decides
  uint8_t media_tx_slot = 0;
  int32_t flow = -1;  // connection-table position for a hit
  bool is_a = false;
  bool needs_rules = false;
  uint32_t rule_result = 0;
  FlowKey key;
};

}  // namespace

std::expected<std::unique_ptr<FirewallWorker>, std::string> FirewallWorker::Create(
    std::span<const WireLink> links, TableSlot& slot, uint32_t thread_id, uint32_t flow_capacity,
    const MediaStage* media) {
  std::unique_ptr<FirewallWorker> w(new FirewallWorker());
  if (media != nullptr && media->table != nullptr) {
    w->media_table_ = media->table;
    w->media_ = std::make_unique<MediaRelay>(*media->table, media->crypto);
  }
  for (const WireLink& l : links) {
    w->port_id_of_slot_[l.rx_slot] = l.rx_port_id;
    w->port_id_of_slot_[l.tx_slot] = l.tx_port_id;
  }
  w->slot_ = &slot;
  w->thread_id_ = thread_id;
  w->link_count_ = std::min(links.size(), kMaxLinks);
  std::copy_n(links.begin(), w->link_count_, w->links_.begin());
  w->rule_counters_.resize(kMaxRules);
  w->rule_meters_.resize(kMaxRules);
  const std::string id = std::to_string(thread_id);
  auto flows = FlowTable::Create("sbc_flows_" + id, flow_capacity);
  if (!flows) return std::unexpected(flows.error());
  w->flows_ = std::move(*flows);
  auto sources = SourceTable::Create("sbc_sources_" + id, flow_capacity);
  if (!sources) return std::unexpected(sources.error());
  w->sources_ = std::move(*sources);
  auto log = PacketLog::Create("sbc_log_" + id, kLogCapacity, kLogPerSecond, kLogBurst);
  if (!log) return std::unexpected(log.error());
  w->log_ = std::move(*log);
  return w;
}

uint64_t FirewallWorker::flows() const {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(flow_count_)).load(std::memory_order_relaxed);
}

void FirewallWorker::Run(const std::atomic<bool>& stop) noexcept {
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

uint32_t FirewallWorker::PollOnce() noexcept {
  const FirewallTables* tables = slot_->Current();
  const uint64_t now = rte_rdtsc();
  if (tables != nullptr) SyncMeters(tables);
  uint32_t received = 0;
  for (size_t i = 0; i < link_count_; ++i) received += Forward(links_[i], tables, now);
  if (tables != nullptr) Sweep(tables, now);
  std::atomic_ref<uint64_t>(flow_count_).store(flows_->size(), std::memory_order_relaxed);
  return received;
}

void FirewallWorker::SyncMeters(const FirewallTables* tables) noexcept {
  if (meters_generation_ == tables->generation) return;
  // Rule indexes mean other rules now: every meter starts with a full bucket.
  for (size_t r = 0; r < tables->rule_count; ++r)
    if (tables->rules[r].metered)
      rte_meter_srtcm_config(&rule_meters_[r], const_cast<rte_meter_srtcm_profile*>(&tables->rules[r].meter));
  rte_meter_srtcm_config(&own_address_meter_, const_cast<rte_meter_srtcm_profile*>(&tables->own_address_meter));
  meters_generation_ = tables->generation;
}

bool FirewallWorker::RuleMeterAllows(const FirewallTables* tables, uint32_t rule, uint64_t now) noexcept {
  if (!tables->rules[rule].metered) return true;
  return rte_meter_srtcm_color_blind_check(&rule_meters_[rule],
                                           const_cast<rte_meter_srtcm_profile*>(&tables->rules[rule].meter),
                                           now, 1) == RTE_COLOR_GREEN;
}

void FirewallWorker::RemoveFlow(int32_t position) noexcept {
  const FlowEntry& entry = flows_->at(position);
  if (IsHalfOpen(entry.state)) --half_open_;
  const FlowKey& key = flows_->key(position);
  SourceKey skey{};
  skey.family = key.family;
  std::memcpy(skey.addr, entry.originator_is_a ? key.addr_a : key.addr_b, 16);
  const int32_t spos = sources_->Find(skey);
  if (spos >= 0 && --sources_->at(spos).flows == 0) sources_->Remove(spos);
  flows_->Remove(position);
}

void FirewallWorker::Sweep(const FirewallTables* tables, uint64_t now) noexcept {
  int32_t positions[64];
  const uint32_t found = flows_->NextForSweep(positions);
  for (uint32_t i = 0; i < found; ++i) {
    const FlowEntry& e = flows_->at(positions[i]);
    if (now - e.last_seen_tsc > Timeout(tables, e.state)) RemoveFlow(positions[i]);
  }
}

// After a rule swap, a flow keeps passing only if the new rules still allow its
// first direction. Checked lazily, once per flow and generation.
bool FirewallWorker::StillAllowed(const FirewallTables* tables, int32_t position) noexcept {
  FlowEntry& entry = flows_->at(position);
  const FlowKey& key = flows_->key(position);
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
  AclKey acl;
  FillAclKey(acl, origin, entry.from_zone, entry.to_zone);
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&acl)};
  uint32_t result = 0;
  if (origin.family == Family::kIpv6) tables->ClassifyRules6(data, &result, 1);
  else tables->ClassifyRules4(data, &result, 1);
  if (result == 0) return false;
  entry.rule = result - 1;
  entry.generation = tables->generation;
  return true;
}

DropReason FirewallWorker::TrackExisting(FlowEntry& entry, bool from_originator,
                                         const PacketMeta& meta, bool* remove_after) noexcept {
  if (meta.protocol != kProtoTcp) return kNotDropped;
  const uint8_t flags = meta.tcp_flags;
  if (flags & kTcpRst) {
    *remove_after = true;
    return kNotDropped;
  }
  switch (entry.state) {
    case FlowState::kTcpSynSent:
      if (from_originator) return kNotDropped;  // SYN retransmit, early data
      if ((flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck)) {
        entry.state = FlowState::kTcpSynReceived;
        return kNotDropped;
      }
      return DropReason::kTcpNoState;  // the responder speaks before its SYN-ACK
    case FlowState::kTcpSynReceived:
      if (from_originator && (flags & kTcpAck) && !(flags & kTcpSyn)) {
        entry.state = FlowState::kTcpEstablished;
        --half_open_;
      }
      break;
    default:
      break;
  }
  if ((flags & kTcpFin) && entry.state == FlowState::kTcpEstablished) entry.state = FlowState::kTcpClosing;
  return kNotDropped;
}

DropReason FirewallWorker::CreateFlow(const FirewallTables* tables, const FlowKey& key,
                                      bool source_is_a, const PacketMeta& meta, uint32_t rule,
                                      uint8_t from_zone, uint8_t to_zone, uint64_t now,
                                      int32_t* position) noexcept {
  const bool tcp = meta.protocol == kProtoTcp;
  if (tcp && !((meta.tcp_flags & kTcpSyn) && !(meta.tcp_flags & (kTcpAck | kTcpRst))))
    return DropReason::kTcpNoState;  // only a SYN opens a TCP connection
  if (tcp && tables->max_half_open != 0 && half_open_ >= tables->max_half_open)
    return DropReason::kHalfOpenLimit;
  if (flows_->size() >= tables->max_flows) return DropReason::kFlowTableFull;

  SourceKey skey{};
  skey.family = key.family;
  std::memcpy(skey.addr, meta.src.data(), 16);
  int32_t spos = sources_->Find(skey);
  if (spos < 0) {
    spos = sources_->Add(skey);
    if (spos < 0) return DropReason::kFlowTableFull;
  }
  SourceEntry& source = sources_->at(spos);
  auto forget_idle_source = [&] {
    if (source.flows == 0) sources_->Remove(spos);
  };
  if (tables->source_flood_limited) {
    if (source.meter_generation != tables->generation) {
      rte_meter_srtcm_config(&source.meter, const_cast<rte_meter_srtcm_profile*>(&tables->source_flood));
      source.meter_generation = tables->generation;
    }
    if (rte_meter_srtcm_color_blind_check(&source.meter,
                                          const_cast<rte_meter_srtcm_profile*>(&tables->source_flood),
                                          now, 1) != RTE_COLOR_GREEN) {
      forget_idle_source();
      return DropReason::kSourceFlood;
    }
  }
  if (tables->max_flows_per_source != 0 && source.flows >= tables->max_flows_per_source) {
    forget_idle_source();
    return DropReason::kSourceFlowLimit;
  }
  const int32_t pos = flows_->Add(key);
  if (pos < 0) {
    forget_idle_source();
    return DropReason::kFlowTableFull;
  }
  ++source.flows;
  FlowEntry& entry = flows_->at(pos);
  entry.last_seen_tsc = now;
  entry.rule = rule;
  entry.generation = tables->generation;
  entry.originator_is_a = source_is_a;
  entry.from_zone = from_zone;
  entry.to_zone = to_zone;
  if (tcp) {
    entry.state = FlowState::kTcpSynSent;
    ++half_open_;
  } else {
    entry.state = (meta.protocol == kProtoIcmp || meta.protocol == kProtoIcmpV6) ? FlowState::kIcmp
                  : meta.protocol == kProtoUdp                                ? FlowState::kUdp
                                                                              : FlowState::kOther;
  }
  *position = pos;
  return kNotDropped;
}

uint32_t FirewallWorker::Forward(const WireLink& link, const FirewallTables* tables,
                                 uint64_t now) noexcept {
  rte_mbuf* frames[kWireBurst];
  const uint16_t n = rte_eth_rx_burst(link.rx_port_id, link.queue, frames, kWireBurst);
  if (n == 0) return 0;

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
  const DropReason whole_burst = tables == nullptr                                ? DropReason::kNoRuleSet
                                 : (from_zone == kNoZone || to_zone == kNoZone) ? DropReason::kPortWithoutZone
                                                                                : kNotDropped;

  // 1. Parse; build lookup keys; anti-spoofing in bulk per family.
  AclBatch sources;
  for (uint16_t i = 0; i < n; ++i) {
    slots[i].verdict = ParseFrame(frames[i], &meta[i]);
    if (slots[i].verdict == kNotDropped && whole_burst != kNotDropped) slots[i].verdict = whole_burst;
    if (slots[i].verdict != kNotDropped || !IsIp(meta[i])) continue;
    FillAclKey(keys[i], meta[i], from_zone, to_zone);
    sources.Add(i, meta[i], keys[i]);
  }
  sources.Run(tables, &FirewallTables::ClassifySources4, &FirewallTables::ClassifySources6,
              [&](uint16_t i, uint32_t allowed) {
                if (allowed == 0) slots[i].verdict = DropReason::kSpoofedSource;
              });

  // 1b. Requests to our own addresses are answered here, never forwarded.
  if (whole_burst == kNotDropped && !tables->local_addresses.empty()) {
    for (uint16_t i = 0; i < n; ++i) {
      Slot& s = slots[i];
      if (s.verdict != kNotDropped || !IsOwnAddressRequest(frames[i], meta[i], tables->local_addresses))
        continue;
      s.own_address = true;
      const bool allowed = rte_meter_srtcm_color_blind_check(
                               &own_address_meter_,
                               const_cast<rte_meter_srtcm_profile*>(&tables->own_address_meter), now,
                               1) == RTE_COLOR_GREEN;
      if (!allowed || !MakeOwnAddressReply(frames[i], meta[i], tables->port_macs[link.rx_slot]))
        s.verdict = DropReason::kOwnAddressLimited;
    }
  }

  // 1c. Media to our relay ports: relayed by its session, never by the rules.
  if (media_ != nullptr && whole_burst == kNotDropped) {
    uint16_t which[kWireBurst];
    uint16_t media_count = 0;
    for (uint16_t i = 0; i < n; ++i) {
      Slot& s = slots[i];
      if (s.verdict != kNotDropped || s.own_address || !IsIp(meta[i]) || !media_table_->MayBeMedia(meta[i])) continue;
      s.media = true;
      which[media_count++] = i;
    }
    if (media_count != 0) {
      DropReason verdicts[kWireBurst];
      uint8_t tx_slots[kWireBurst];
      for (uint16_t k = 0; k < media_count; ++k) verdicts[which[k]] = kNotDropped;
      media_->Process(frames, meta, which, media_count, tables->port_macs, now, verdicts, tx_slots);
      for (uint16_t k = 0; k < media_count; ++k) {
        Slot& s = slots[which[k]];
        s.verdict = verdicts[which[k]];
        s.media_tx_slot = tx_slots[which[k]];
      }
    }
  }

  // 2. Connection lookup, in bulk; misses need the rules.
  const FlowKey* lookup_keys[kWireBurst];
  uint16_t lookup_index[kWireBurst];
  int32_t positions[kWireBurst];
  uint32_t lookups = 0;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (s.verdict != kNotDropped || s.own_address || s.media || !IsIp(meta[i]) || IsNeighbourDiscovery(meta[i]) ||
        IsStateless(meta[i]))
      continue;
    s.key = MakeFlowKey(meta[i], &s.is_a);
    lookup_keys[lookups] = &s.key;
    lookup_index[lookups++] = i;
  }
  flows_->FindBulk(lookup_keys, lookups, positions);
  for (uint32_t j = 0; j < lookups; ++j)
    if (positions[j] >= 0) flows_->Prefetch(positions[j]);
  for (uint32_t j = 0; j < lookups; ++j) slots[lookup_index[j]].flow = positions[j];

  AclBatch misses;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (s.verdict != kNotDropped || s.own_address || s.media || !IsIp(meta[i]) || IsNeighbourDiscovery(meta[i]))
      continue;
    if (s.flow >= 0) {
      const FlowEntry& e = flows_->at(s.flow);
      const bool expired = now - e.last_seen_tsc > Timeout(tables, e.state);
      if (expired || (e.generation != tables->generation && !StillAllowed(tables, s.flow))) {
        RemoveFlow(s.flow);
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

  // 4. Decide in arrival order (a burst may open a flow and then use it).
  bool created = false;
  for (uint16_t i = 0; i < n; ++i) {
    Slot& s = slots[i];
    if (s.verdict != kNotDropped || s.own_address || s.media || !IsIp(meta[i]) || IsNeighbourDiscovery(meta[i]))
      continue;
    if (s.needs_rules && created && !IsStateless(meta[i])) {
      s.flow = flows_->Find(s.key);  // opened by an earlier packet of this burst
      if (s.flow >= 0) s.needs_rules = false;
    }
    uint32_t rule = 0;
    bool remove_after = false;
    if (!s.needs_rules) {
      FlowEntry& e = flows_->at(s.flow);
      s.verdict = TrackExisting(e, s.is_a == e.originator_is_a, meta[i], &remove_after);
      rule = e.rule;
      if (s.verdict == kNotDropped) e.last_seen_tsc = now;
    } else if (s.rule_result == 0) {
      s.verdict = meta[i].later_fragment ? DropReason::kFragment : DropReason::kDenied;
      continue;
    } else {
      rule = s.rule_result - 1;
    }
    if (s.verdict == kNotDropped && !RuleMeterAllows(tables, rule, now)) s.verdict = DropReason::kRateLimited;
    if (s.verdict == kNotDropped && s.needs_rules && !IsStateless(meta[i])) {
      s.verdict = CreateFlow(tables, s.key, s.is_a, meta[i], rule, from_zone, to_zone, now, &s.flow);
      created |= s.verdict == kNotDropped;
      if (s.verdict == kNotDropped && tables->rules[rule].log)
        log_->Record(meta[i], kNotDropped, link.rx_slot, rule, now);
    }
    if (s.verdict != kNotDropped) continue;
    if (remove_after) RemoveFlow(s.flow);
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
  uint64_t kept_bytes = 0;
  for (uint16_t i = 0; i < n; ++i) {
    if (slots[i].verdict != kNotDropped) {
      counters_.AddDrop(slots[i].verdict, 1);
      dropped[dropped_count++] = frames[i];
      if (IsIp(meta[i])) log_->Record(meta[i], slots[i].verdict, link.rx_slot, 0, now);
    } else if (slots[i].own_address) {
      replies[reply_count++] = frames[i];
    } else if (slots[i].media) {
      const uint8_t out = slots[i].media_tx_slot;
      relayed[out][relayed_count[out]++] = frames[i];
    } else {
      kept_bytes += frames[i]->pkt_len;
      frames[kept++] = frames[i];
    }
  }
  if (dropped_count != 0) rte_pktmbuf_free_bulk(dropped, dropped_count);
  if (reply_count != 0) Transmit(link.rx_port_id, link.queue, link.rx_slot, replies, reply_count);
  for (uint8_t out = 0; out < kMaxPorts; ++out)
    if (relayed_count[out] != 0) Transmit(port_id_of_slot_[out], link.queue, out, relayed[out], relayed_count[out]);
  if (kept == 0) return n;
  Transmit(link.tx_port_id, link.queue, link.tx_slot, frames, kept);
  return n;
}

void FirewallWorker::Transmit(uint16_t port_id, uint16_t queue, uint8_t slot, rte_mbuf** frames,
                              uint16_t count) noexcept {
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < count; ++i) bytes += frames[i]->pkt_len;
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
