#include "sbc/dataplane/firewall/firewall_stage.h"

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include <cstring>

#include "meter.h"
#include "sbc/dataplane/core/counters.h"

namespace sbc::dataplane {
namespace {

// Packet log: per worker, at most this many records a second (bursts of kLogBurst)
// reach the control thread; the rest are counted as suppressed.
constexpr uint32_t kLogPerSecond = 100;
constexpr uint32_t kLogBurst = 200;
constexpr uint32_t kLogCapacity = 1024;

template <typename Key>
void FillHeader(Key& k, const PacketMeta& m, uint8_t from_zone, uint8_t to_zone) {
  k.protocol = m.protocol;
  k.from_zone = from_zone;
  k.to_zone = to_zone;
  k.later_fragment = m.later_fragment ? 1 : 0;
  k.src_port = rte_cpu_to_be_16(m.later_fragment ? 0 : m.src_port);
  k.dst_port = rte_cpu_to_be_16(m.later_fragment ? 0 : m.dst_port);
}

template <typename AclKey>
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

// Keys of one burst queued for one rte_acl lookup per address family; `id` is the
// caller's name for each (a burst position, or a place in a stage's list).
class AclBatch {
 public:
  using Classify = void (FirewallTables::*)(const uint8_t**, uint32_t*, uint32_t) const;

  void Add(uint16_t id, const PacketMeta& meta, const void* key) {
    Queue& f = meta.family == Family::kIpv6 ? v6_ : v4_;
    f.id[f.count] = id;
    f.data[f.count++] = static_cast<const uint8_t*>(key);
  }
  // Looks every queued key up (`v4`/`v6` name the tables' lookups) and hands each
  // result to `use(id, result)`.
  template <typename Use>
  void Run(const FirewallTables& tables, Classify v4, Classify v6, Use use) {
    for (auto [f, classify] : {std::pair{&v4_, v4}, std::pair{&v6_, v6}}) {
      if (f->count == 0) continue;
      uint32_t results[kWireBurst];
      (tables.*classify)(f->data, results, f->count);
      for (uint32_t j = 0; j < f->count; ++j) use(f->id[j], results[j]);
    }
  }

 private:
  struct Queue {
    const uint8_t* data[kWireBurst];
    uint16_t id[kWireBurst];
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

}  // namespace

std::expected<std::unique_ptr<FirewallStage>, std::string> FirewallStage::Create(
    uint32_t worker, uint32_t flow_capacity) {
  std::unique_ptr<FirewallStage> stage(new FirewallStage());
  stage->rule_counters_.resize(kMaxRules);
  stage->rule_meters_.resize(kMaxRules);
  const std::string id = std::to_string(worker);
  auto conntrack = ConnectionTracker::Create(id, flow_capacity);
  if (!conntrack) return std::unexpected(conntrack.error());
  stage->conntrack_ = std::move(*conntrack);
  auto log = PacketLog::Create("sbc_log_" + id, kLogCapacity, kLogPerSecond, kLogBurst);
  if (!log) return std::unexpected(log.error());
  stage->log_ = std::move(*log);
  return stage;
}

void FirewallStage::SyncMeters(const FirewallTables& tables) noexcept {
  if (meters_generation_ == tables.generation) return;
  // Rule indexes mean other rules now: every meter starts with a full bucket.
  for (size_t r = 0; r < tables.rule_count; ++r)
    if (tables.rules[r].metered)
      rte_meter_srtcm_config(&rule_meters_[r],
                             const_cast<rte_meter_srtcm_profile*>(&tables.rules[r].meter));
  meters_generation_ = tables.generation;
}

bool FirewallStage::RuleMeterAllows(const FirewallTables& tables, uint32_t rule,
                                    uint64_t now) noexcept {
  if (!tables.rules[rule].metered) return true;
  return MeterAllows(rule_meters_[rule], tables.rules[rule].meter, now);
}

uint32_t FirewallStage::ClassifyOne(const FirewallTables& tables, const PacketMeta& meta,
                                    uint8_t from_zone, uint8_t to_zone) noexcept {
  AclKey acl;
  FillAclKey(acl, meta, from_zone, to_zone);
  const uint8_t* data[1] = {reinterpret_cast<const uint8_t*>(&acl)};
  uint32_t result = 0;
  if (meta.family == Family::kIpv6)
    tables.ClassifyRules6(data, &result, 1);
  else
    tables.ClassifyRules4(data, &result, 1);
  return result;
}

// After a rule swap, a flow keeps passing only if the new rules still allow its
// first direction. Checked lazily, once per flow and generation.
bool FirewallStage::StillAllowed(const FirewallTables& tables, int32_t position) noexcept {
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
  entry.generation = tables.generation;
  return true;
}

void FirewallStage::CheckSources(const FirewallTables& tables, const PacketMeta* meta,
                                 const uint16_t* which, uint16_t count, uint8_t from_zone,
                                 uint8_t to_zone, DropReason* verdict) noexcept {
  AclBatch sources;
  for (uint16_t k = 0; k < count; ++k) {
    const uint16_t i = which[k];
    FillAclKey(keys_[i], meta[i], from_zone, to_zone);
    sources.Add(i, meta[i], &keys_[i]);
  }
  sources.Run(tables, &FirewallTables::ClassifySources4, &FirewallTables::ClassifySources6,
              [&](uint16_t i, uint32_t allowed) {
                if (allowed == 0) verdict[i] = DropReason::kSpoofedSource;
              });
}

void FirewallStage::Decide(const FirewallTables& tables, rte_mbuf* const* frames,
                           const PacketMeta* meta, const uint16_t* which, uint16_t count,
                           uint8_t from_zone, uint8_t to_zone, uint8_t rx_slot, uint64_t now,
                           DropReason* verdict) noexcept {
  // 1. Connection lookup, in bulk; misses need the rules.
  const FlowKey* lookup_keys[kWireBurst];
  uint16_t lookup_place[kWireBurst];
  int32_t positions[kWireBurst];
  uint32_t lookups = 0;
  for (uint16_t k = 0; k < count; ++k) {
    Pending& p = pending_[k];
    p.flow = -1;
    p.needs_rules = false;
    p.rule_result = 0;
    const PacketMeta& m = meta[which[k]];
    if (IsStateless(m)) continue;
    p.key = MakeFlowKey(m, from_zone, to_zone, &p.is_a);
    lookup_keys[lookups] = &p.key;
    lookup_place[lookups++] = k;
  }
  FlowTable& flows = conntrack_->flows();
  if (lookups != 0) flows.FindBulk(lookup_keys, lookups, positions);
  for (uint32_t j = 0; j < lookups; ++j)
    if (positions[j] >= 0) flows.Prefetch(positions[j]);
  for (uint32_t j = 0; j < lookups; ++j) pending_[lookup_place[j]].flow = positions[j];

  // Positions from the bulk lookup go stale when a flow is removed (two packets of one
  // expired flow, or one evicted by a new flow's limits): each removal is counted,
  // and a position is re-checked only when one happened since it was looked up.
  uint64_t removals_seen = conntrack_->removals();
  auto stale = [&](const Pending& p) {
    return p.flow >= 0 && conntrack_->removals() != removals_seen &&
           !conntrack_->Holds(p.flow, p.key);
  };
  AclBatch misses;
  for (uint16_t k = 0; k < count; ++k) {
    Pending& p = pending_[k];
    if (stale(p)) p.flow = -1;  // an earlier packet of this burst ended it
    if (p.flow >= 0) {
      const FlowEntry& e = flows.at(p.flow);
      if (conntrack_->Expired(tables, e, now) ||
          (e.generation != tables.generation && !StillAllowed(tables, p.flow))) {
        conntrack_->Remove(p.flow);
        p.flow = -1;
      }
      if (p.flow >= 0) continue;
    }
    p.needs_rules = true;
    misses.Add(k, meta[which[k]], &keys_[which[k]]);
  }
  // 2. The allowlist, in bulk.
  misses.Run(tables, &FirewallTables::ClassifyRules4, &FirewallTables::ClassifyRules6,
             [&](uint16_t k, uint32_t result) { pending_[k].rule_result = result; });

  // 3. Decide in arrival order (a burst may open a flow and then use it, or end one a
  //    later packet of the burst still holds the position of).
  removals_seen = conntrack_->removals();
  bool opened = false;
  for (uint16_t k = 0; k < count; ++k) {
    Pending& p = pending_[k];
    const uint16_t i = which[k];
    const PacketMeta& m = meta[i];
    DropReason& v = verdict[i];
    if (!IsStateless(m) && ((p.needs_rules && opened) || stale(p))) {
      // Opened, or ended, by an earlier packet of this burst: look again.
      p.flow = flows.Find(p.key);
      if (p.flow >= 0) {
        p.needs_rules = false;
      } else if (!p.needs_rules) {
        p.needs_rules = true;
        p.rule_result = ClassifyOne(tables, m, from_zone, to_zone);
      }
    }
    uint32_t rule = 0;
    if (!p.needs_rules) {
      FlowEntry& e = flows.at(p.flow);
      v = conntrack_->Track(tables, p.flow, p.is_a == e.originator_is_a, m);
      rule = e.rule;
      if (v == kNotDropped) e.last_seen_tsc = now;
    } else if (p.rule_result == 0) {
      v = m.later_fragment ? DropReason::kFragment : DropReason::kDenied;
      continue;
    } else {
      rule = p.rule_result - 1;
    }
    if (v == kNotDropped && !RuleMeterAllows(tables, rule, now)) v = DropReason::kRateLimited;
    if (v == kNotDropped && p.needs_rules && !IsStateless(m)) {
      const FlowOrigin origin{
          .source_is_a = p.is_a, .rule = rule, .from_zone = from_zone, .to_zone = to_zone};
      v = conntrack_->Open(tables, p.key, m, origin, now, &p.flow);
      opened |= v == kNotDropped;
      if (v == kNotDropped && tables.rules[rule].log)
        log_->Record(m, kNotDropped, rx_slot, rule, now);
    }
    if (v != kNotDropped) continue;
    RuleCounter& rc = rule_counters_[rule];
    WorkerCounters::Add(rc.packets, 1);
    WorkerCounters::Add(rc.bytes, frames[i]->pkt_len);
  }
}

}  // namespace sbc::dataplane
