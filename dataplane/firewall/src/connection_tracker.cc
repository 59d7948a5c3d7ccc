#include "sbc/dataplane/firewall/connection_tracker.h"

#include <cstring>

namespace sbc::dataplane {
namespace {

FlowState FirstState(uint8_t protocol) {
  switch (protocol) {
    case kProtoTcp:
      return FlowState::kTcpSynSent;
    case kProtoUdp:
      return FlowState::kUdp;
    case kProtoIcmp:
    case kProtoIcmpV6:
      return FlowState::kIcmp;
    default:
      return FlowState::kOther;
  }
}

}  // namespace

std::expected<std::unique_ptr<ConnectionTracker>, std::string> ConnectionTracker::Create(
    const std::string& name, uint32_t capacity) {
  std::unique_ptr<ConnectionTracker> ct(new ConnectionTracker());
  auto flows = FlowTable::Create("sbc_flows_" + name, capacity);
  if (!flows) return std::unexpected(flows.error());
  ct->flows_ = std::move(*flows);
  auto sources = SourceTable::Create("sbc_sources_" + name, capacity);
  if (!sources) return std::unexpected(sources.error());
  ct->sources_ = std::move(*sources);
  ct->links_.resize(ct->flows_->positions());
  return ct;
}

bool ConnectionTracker::Holds(int32_t position, const FlowKey& key) const noexcept {
  return position >= 0 && flows_->occupied(position) &&
         std::memcmp(&flows_->key(position), &key, sizeof(key)) == 0;
}

SourceKey ConnectionTracker::OriginatorOf(int32_t position) const noexcept {
  const FlowEntry& entry = flows_->at(position);
  const FlowKey& key = flows_->key(position);
  SourceKey skey{};
  skey.family = key.family;
  std::memcpy(skey.addr, entry.originator_is_a ? key.addr_a : key.addr_b, 16);
  return skey;
}

SourceEntry* ConnectionTracker::SourceOf(int32_t position) noexcept {
  const int32_t spos = sources_->Find(OriginatorOf(position));
  return spos < 0 ? nullptr : &sources_->at(spos);
}

void ConnectionTracker::EnterHalfOpen(int32_t position) noexcept {
  ZoneHalfOpen& zone = zones_[flows_->at(position).from_zone];
  links_[position] = {.prev = zone.newest, .next = -1};
  if (zone.newest >= 0)
    links_[zone.newest].next = position;
  else
    zone.oldest = position;
  zone.newest = position;
  ++zone.count;
  ++half_open_;
  if (SourceEntry* source = SourceOf(position)) ++source->half_open;
}

void ConnectionTracker::LeaveHalfOpen(int32_t position) noexcept {
  ZoneHalfOpen& zone = zones_[flows_->at(position).from_zone];
  HalfOpenLink& link = links_[position];
  if (link.prev >= 0)
    links_[link.prev].next = link.next;
  else
    zone.oldest = link.next;
  if (link.next >= 0)
    links_[link.next].prev = link.prev;
  else
    zone.newest = link.prev;
  link = {};
  if (zone.count != 0) --zone.count;
  if (half_open_ != 0) --half_open_;
  if (SourceEntry* source = SourceOf(position); source != nullptr && source->half_open != 0)
    --source->half_open;
}

bool ConnectionTracker::EvictOldestHalfOpen(uint8_t zone) noexcept {
  int32_t victim = -1;
  if (zone != kNoZone) {
    victim = zones_[zone].oldest;
  } else {
    // The oldest of the zones' oldest: the one seen least recently.
    for (const ZoneHalfOpen& z : zones_)
      if (z.oldest >= 0 &&
          (victim < 0 || flows_->at(z.oldest).last_seen_tsc < flows_->at(victim).last_seen_tsc))
        victim = z.oldest;
  }
  if (victim < 0) return false;
  Remove(victim);
  return true;
}

void ConnectionTracker::Remove(int32_t position) noexcept {
  if (position < 0 || !flows_->occupied(position)) return;
  if (IsHalfOpen(flows_->at(position).state)) LeaveHalfOpen(position);
  const int32_t spos = sources_->Find(OriginatorOf(position));
  if (spos >= 0) {
    SourceEntry& source = sources_->at(spos);
    if (source.flows != 0) --source.flows;
    if (source.flows == 0) sources_->Remove(spos);
  }
  flows_->Remove(position);
  ++removals_;
}

DropReason ConnectionTracker::Open(const FirewallTables& tables, const FlowKey& key,
                                   const PacketMeta& meta, const FlowOrigin& origin, uint64_t now,
                                   int32_t* position) noexcept {
  const bool tcp = meta.protocol == kProtoTcp;
  if (tcp && !OpensTcpConnection(meta.tcp_flags)) return DropReason::kTcpNoState;
  if (flows_->size() >= tables.max_flows) return DropReason::kFlowTableFull;

  SourceKey skey{};
  skey.family = key.family;
  std::memcpy(skey.addr, meta.src.data(), 16);
  int32_t spos = sources_->Find(skey);
  if (spos < 0) {
    spos = sources_->Add(skey);
    if (spos < 0) return DropReason::kFlowTableFull;
  }
  // By position, not reference: an eviction below may move it (see there).
  auto source = [&]() -> SourceEntry& { return sources_->at(spos); };
  auto refuse = [&](DropReason why) {
    if (source().flows == 0) sources_->Remove(spos);
    return why;
  };
  if (tables.source_flood_limited) {
    SourceEntry& s = source();
    if (s.meter_generation != tables.generation) {
      rte_meter_srtcm_config(&s.meter, const_cast<rte_meter_srtcm_profile*>(&tables.source_flood));
      s.meter_generation = tables.generation;
    }
    if (rte_meter_srtcm_color_blind_check(
            &s.meter, const_cast<rte_meter_srtcm_profile*>(&tables.source_flood), now, 1) !=
        RTE_COLOR_GREEN)
      return refuse(DropReason::kSourceFlood);
  }
  if (tables.max_flows_per_source != 0 && source().flows >= tables.max_flows_per_source)
    return refuse(DropReason::kSourceFlowLimit);
  if (tcp) {
    if (tables.max_half_open_per_source != 0 &&
        source().half_open >= tables.max_half_open_per_source)
      return refuse(DropReason::kSourceHalfOpenLimit);
    // Zone, then global: a full limit makes room by evicting its oldest entry.
    const uint32_t zone_limit = origin.from_zone < tables.zone_max_half_open.size()
                                    ? tables.zone_max_half_open[origin.from_zone]
                                    : 0;
    if (zone_limit != 0 && zones_[origin.from_zone].count >= zone_limit &&
        !EvictOldestHalfOpen(origin.from_zone))
      return refuse(DropReason::kHalfOpenLimit);
    if (tables.max_half_open != 0 && half_open_ >= tables.max_half_open &&
        !EvictOldestHalfOpen(kNoZone))
      return refuse(DropReason::kHalfOpenLimit);
    // An evicted connection may have been this source's last flow, taking its entry.
    spos = sources_->Find(skey);
    if (spos < 0 && (spos = sources_->Add(skey)) < 0) return DropReason::kFlowTableFull;
  }
  const int32_t pos = flows_->Add(key);
  if (pos < 0) return refuse(DropReason::kFlowTableFull);
  ++source().flows;
  FlowEntry& entry = flows_->at(pos);
  entry.last_seen_tsc = now;
  entry.rule = origin.rule;
  entry.generation = tables.generation;
  entry.originator_is_a = origin.source_is_a;
  entry.from_zone = origin.from_zone;
  entry.to_zone = origin.to_zone;
  entry.state = FirstState(meta.protocol);
  if (tcp) EnterHalfOpen(pos);
  *position = pos;
  return kNotDropped;
}

DropReason ConnectionTracker::TrackTcpPacket(const FirewallTables& tables, int32_t position,
                                             bool from_originator, uint8_t flags) noexcept {
  FlowEntry& entry = flows_->at(position);
  const TcpStep step = TrackTcp(entry.state, from_originator, flags);
  if (!step.pass) return DropReason::kTcpNoState;
  if (step.next == entry.state) return kNotDropped;
  const bool was_half_open = IsHalfOpen(entry.state), half_open = IsHalfOpen(step.next);
  if (was_half_open && !half_open) LeaveHalfOpen(position);
  if (!was_half_open && half_open) {
    // A reused port pair opens again: a half-open connection like any other, but the
    // flow exists already, so a full limit evicts (never this one: it is not listed).
    const uint32_t zone_limit = entry.from_zone < tables.zone_max_half_open.size()
                                    ? tables.zone_max_half_open[entry.from_zone]
                                    : 0;
    if (zone_limit != 0 && zones_[entry.from_zone].count >= zone_limit)
      (void)EvictOldestHalfOpen(entry.from_zone);
    if (tables.max_half_open != 0 && half_open_ >= tables.max_half_open)
      (void)EvictOldestHalfOpen(kNoZone);
    entry.state = step.next;
    EnterHalfOpen(position);
    return kNotDropped;
  }
  entry.state = step.next;
  return kNotDropped;
}

void ConnectionTracker::Sweep(const FirewallTables& tables, uint64_t now) noexcept {
  int32_t positions[64];
  const uint32_t found = flows_->NextForSweep(positions);
  for (uint32_t i = 0; i < found; ++i)
    if (Expired(tables, flows_->at(positions[i]), now)) Remove(positions[i]);
}

}  // namespace sbc::dataplane
