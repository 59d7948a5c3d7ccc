// The firewall's two steps in a worker's pipeline, for the packets the worker routes to
// them: anti-spoofing (every IP packet of a burst, media included, before any stage
// decides it) and the stateful allowlist (the IP packets no other stage took):
// connection lookup in bulk -> expiry and revalidation after a rule swap -> the rules
// in bulk for misses -> meters and table limits, in arrival order. One per worker,
// used by its lcore only, except where a member says otherwise. Nothing here
// allocates, locks, logs or throws.
#pragma once

#include <rte_meter.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/core/wire_worker.h"
#include "sbc/dataplane/firewall/connection_tracker.h"
#include "sbc/dataplane/firewall/firewall_tables.h"
#include "sbc/dataplane/firewall/packet_log.h"

struct rte_mbuf;

namespace sbc::dataplane {

struct RuleCounter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

class FirewallStage {
 public:
  // Control thread, before launch. `worker` names the stage's DPDK objects (its
  // connection table and packet log); `flow_capacity` sizes the connection table.
  [[nodiscard]] static std::expected<std::unique_ptr<FirewallStage>, std::string> Create(
      uint32_t worker, uint32_t flow_capacity);

  // Once per poll: after a rule swap every rule meter starts with a full bucket.
  void SyncMeters(const FirewallTables& tables) noexcept;

  // Anti-spoofing for frames which[k], k < count, all IP: a source outside its
  // ingress zone's source sets gets verdict[which[k]] = kSpoofedSource. Also builds
  // each packet's rule lookup key, which Decide() then uses: call this first, in the
  // same burst, for every packet later given to Decide().
  void CheckSources(const FirewallTables& tables, const PacketMeta* meta, const uint16_t* which,
                    uint16_t count, uint8_t from_zone, uint8_t to_zone,
                    DropReason* verdict) noexcept;

  // Connection tracking and the allowlist for frames which[k], k < count (IP, in
  // arrival order, none dropped yet): sets verdict[which[k]] to kNotDropped (forward
  // it) or why it is dropped, counts passes per rule, and logs opened flows of logged
  // rules.
  void Decide(const FirewallTables& tables, rte_mbuf* const* frames, const PacketMeta* meta,
              const uint16_t* which, uint16_t count, uint8_t from_zone, uint8_t to_zone,
              uint8_t rx_slot, uint64_t now, DropReason* verdict) noexcept;

  // Once per poll: a slice of the expiry sweep, the next 64 positions of the connection
  // table (one word of its occupancy bitmap; the entries found are adjacent in
  // memory). At a few hundred thousand polls a second that cycles a million-entry
  // table in well under a second, and a sparse or empty table costs as little as a
  // full one (sweeping with rte_hash_iterate scanned every empty slot up to the next
  // entry, per poll).
  void Sweep(const FirewallTables& tables, uint64_t now) noexcept {
    conntrack_->Sweep(tables, now);
  }
  uint64_t flows() const noexcept { return conntrack_->size(); }  // this lcore only

  // Any thread, read with relaxed atomics while the worker runs.
  std::span<const RuleCounter> rule_counters() const { return rule_counters_; }
  // Worker lcore records; the control thread drains.
  PacketLog& log() { return *log_; }

 private:
  // Per packet of Decide()'s list, by its place k in the list.
  struct Pending {
    int32_t flow = -1;  // connection-table position for a hit
    bool is_a = false;
    bool needs_rules = false;
    uint32_t rule_result = 0;
    FlowKey key;
  };
  // The key rte_acl looks up, both families in one slot (zones, ports, addresses).
  union AclKey {
    AclKey4 v4;
    AclKey6 v6;
  };

  FirewallStage() = default;
  bool RuleMeterAllows(const FirewallTables& tables, uint32_t rule, uint64_t now) noexcept;
  // The rule for `meta` by a lookup of its own (a packet whose flow went away within
  // its burst, after the bulk lookup): 0 for none, else the rule's index + 1.
  static uint32_t ClassifyOne(const FirewallTables& tables, const PacketMeta& meta,
                              uint8_t from_zone, uint8_t to_zone) noexcept;
  bool StillAllowed(const FirewallTables& tables, int32_t position) noexcept;

  std::unique_ptr<ConnectionTracker> conntrack_;
  std::unique_ptr<PacketLog> log_;
  std::vector<RuleCounter> rule_counters_;
  std::vector<rte_meter_srtcm> rule_meters_;
  uint32_t meters_generation_ = 0;
  AclKey keys_[kWireBurst];  // by burst position, from CheckSources()
  Pending pending_[kWireBurst];
};

}  // namespace sbc::dataplane
