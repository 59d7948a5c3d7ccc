// One worker's connection tracking: its flow and source tables, the TCP state of each
// connection, the limits a new flow must pass, and expiry.
//
// Half-open TCP connections are what a SYN flood makes, so they are accounted three
// ways: per source (a source at its limit is refused), per zone of origin and in all
// (at either limit the oldest half-open connection of that zone, or of any zone, is
// evicted for the new one: a flood from one range cannot hold every slot, and a slow
// flood's entries age out first). Each zone keeps its half-open connections in a list,
// oldest first, threaded through an array beside the flow table rather than through
// its entries: established flows, nearly all of them, then stay small in the cache.
//
// Removal is idempotent: removing a position twice (two packets of one flow in a burst
// both ending it) changes nothing the second time, and removals() tells a caller
// holding positions from a bulk lookup whether any may have gone stale.
//
// Worker thread only, except Create (control thread).
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "sbc/dataplane/core/drop_reasons.h"
#include "sbc/dataplane/firewall/conntrack.h"
#include "sbc/dataplane/firewall/firewall_tables.h"

namespace sbc::dataplane {

// Where a new flow comes from: its first packet's direction.
struct FlowOrigin {
  bool source_is_a = false;  // the first packet's source is the key's endpoint A
  uint32_t rule = 0;         // the rule that allowed it
  uint8_t from_zone = 0, to_zone = 0;
};

class ConnectionTracker {
 public:
  // `name` makes the DPDK hash names unique; `capacity` entries of each table.
  [[nodiscard]] static std::expected<std::unique_ptr<ConnectionTracker>, std::string> Create(
      const std::string& name, uint32_t capacity);

  FlowTable& flows() noexcept { return *flows_; }
  const FlowTable& flows() const noexcept { return *flows_; }

  // Does `position` (from a lookup earlier in this burst) still hold `key`?
  [[nodiscard]] bool Holds(int32_t position, const FlowKey& key) const noexcept;
  // Counts every removal: equal before and after a step means no position went stale.
  uint64_t removals() const noexcept { return removals_; }

  // Opens the flow `key` for `meta`, the first packet of a connection the rules allow:
  // TCP only on an opening SYN; the table, per-source, flood and half-open limits (the
  // latter evicting the oldest half-open connection where that makes room). Sets
  // *position; otherwise returns why not, and nothing changed (but an eviction).
  [[nodiscard]] DropReason Open(const FirewallTables& tables, const FlowKey& key,
                                const PacketMeta& meta, const FlowOrigin& origin, uint64_t now,
                                int32_t* position) noexcept;

  // A packet of the tracked flow at `position`: its TCP state moves (with half-open
  // accounting), or it is dropped (kTcpNoState). Non-TCP flows just pass.
  [[nodiscard]] DropReason Track(const FirewallTables& tables, int32_t position,
                                 bool from_originator, const PacketMeta& meta) noexcept {
    // Inline for the common case, a packet of a UDP or ICMP flow.
    if (meta.protocol != kProtoTcp) return kNotDropped;
    return TrackTcpPacket(tables, position, from_originator, meta.tcp_flags);
  }

  // Removes the flow at `position`, if it holds one.
  void Remove(int32_t position) noexcept;

  // Removes the expired flows among the next 64 positions (a bounded slice).
  void Sweep(const FirewallTables& tables, uint64_t now) noexcept;
  [[nodiscard]] static bool Expired(const FirewallTables& tables, const FlowEntry& entry,
                                    uint64_t now) noexcept {
    // A worker's clock reads once per poll; an entry stamped later in that poll is not old.
    return now > entry.last_seen_tsc && now - entry.last_seen_tsc > Timeout(tables, entry.state);
  }
  static uint64_t Timeout(const FirewallTables& tables, FlowState state) noexcept {
    switch (state) {
      case FlowState::kUdp:
        return tables.udp_tsc;
      case FlowState::kIcmp:
        return tables.icmp_tsc;
      case FlowState::kTcpEstablished:
        return tables.tcp_established_tsc;
      default:
        return tables.tcp_transitory_tsc;
    }
  }

  uint32_t size() const noexcept { return flows_->size(); }
  uint32_t half_open() const noexcept { return half_open_; }
  uint32_t half_open_in_zone(uint8_t zone) const noexcept { return zones_[zone].count; }

 private:
  ConnectionTracker() = default;
  DropReason TrackTcpPacket(const FirewallTables& tables, int32_t position, bool from_originator,
                            uint8_t flags) noexcept;
  // The source table's key of the connection's originator, and its entry (if any).
  SourceKey OriginatorOf(int32_t position) const noexcept;
  SourceEntry* SourceOf(int32_t position) noexcept;
  void EnterHalfOpen(int32_t position) noexcept;
  void LeaveHalfOpen(int32_t position) noexcept;
  // Evicts the oldest half-open connection of `zone` (kNoZone: of any zone); false
  // if there is none.
  bool EvictOldestHalfOpen(uint8_t zone) noexcept;

  // A half-open connection's neighbours in its zone's list (-1: none).
  struct HalfOpenLink {
    int32_t prev = -1, next = -1;
  };
  struct ZoneHalfOpen {
    int32_t oldest = -1, newest = -1;
    uint32_t count = 0;
  };
  std::unique_ptr<FlowTable> flows_;
  std::unique_ptr<SourceTable> sources_;
  std::vector<HalfOpenLink> links_;  // by flow position
  std::array<ZoneHalfOpen, 256> zones_{};
  uint32_t half_open_ = 0;
  uint64_t removals_ = 0;
};

}  // namespace sbc::dataplane
