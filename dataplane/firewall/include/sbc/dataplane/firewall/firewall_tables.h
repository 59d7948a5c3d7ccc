// The firewall's run-time tables, built on the control lcore from a RuleTableSpec and
// then only read by workers (published through FirewallTableSlot, freed after an RCU grace
// period). rte_acl does the allowlist and anti-spoofing lookups.
#pragma once

#include <rte_ether.h>
#include <rte_meter.h>

#include <array>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "sbc/dataplane/core/counters.h"
#include "sbc/dataplane/core/table_slot.h"
#include "sbc/dataplane/firewall/rule_spec.h"

struct rte_acl_ctx;

namespace sbc::dataplane {

inline constexpr uint8_t kNoZone = 0xff;

// The bytes rte_acl reads for one packet (grouped in 4-byte words as it requires).
// Addresses and ports in network order, as in the packet.
struct AclKey4 {
  uint8_t protocol;
  uint8_t pad0[3];
  uint8_t from_zone, to_zone, later_fragment, pad1;
  uint8_t src[4];
  uint8_t dst[4];
  uint16_t src_port, dst_port;
};
struct AclKey6 {
  uint8_t protocol;
  uint8_t pad0[3];
  uint8_t from_zone, to_zone, later_fragment, pad1;
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t src_port, dst_port;
};

struct RuleRuntime {
  bool metered = false;
  bool log = false;
  rte_meter_srtcm_profile meter{};  // packets per second, this worker's share
};

class FirewallTables {
 public:
  // Control thread. `workers` shares rate and table limits among workers (each meters
  // and tracks its own flows; symmetric RSS spreads flows over them). `tsc_hz` turns
  // timeouts into TSC ticks. Fails with the DPDK reason (e.g. out of memory).
  [[nodiscard]] static std::expected<std::unique_ptr<FirewallTables>, std::string> Build(
      const RuleTableSpec& spec, uint32_t workers, uint64_t tsc_hz);
  ~FirewallTables();
  FirewallTables(const FirewallTables&) = delete;
  FirewallTables& operator=(const FirewallTables&) = delete;

  // Worker threads: classification of `n` keys (a worker passes one burst's at most).
  // results[i] is the matching rule's index + 1, or 0 for no match.
  void ClassifyRules4(const uint8_t** keys, uint32_t* results, uint32_t n) const;
  void ClassifyRules6(const uint8_t** keys, uint32_t* results, uint32_t n) const;
  // Anti-spoofing: results[i] != 0 when the source may enter from its zone.
  void ClassifySources4(const uint8_t** keys, uint32_t* results, uint32_t n) const;
  void ClassifySources6(const uint8_t** keys, uint32_t* results, uint32_t n) const;

  uint64_t version = 0;
  uint32_t generation = 0;  // distinct per build; conntrack re-checks on change
  size_t rule_count = 0;
  std::array<uint8_t, kMaxPorts> zone_of_port{};  // kNoZone where unassigned
  // Own addresses and each port's MAC (the caller fills port_macs before publishing).
  std::vector<IpPrefix> local_addresses;
  std::array<rte_ether_addr, kMaxPorts> port_macs{};
  // Replies per second, this worker's share: address resolution (ARP, neighbour
  // solicitations) and echo each have their own, so a ping flood cannot starve ARP.
  rte_meter_srtcm_profile resolution_meter{};
  rte_meter_srtcm_profile echo_meter{};
  std::vector<RuleRuntime> rules;

  // Per worker, from ConntrackSpec.
  uint32_t max_flows = 0;
  uint32_t max_flows_per_source = 0;         // 0: unlimited
  uint32_t max_half_open = 0;                // 0: unlimited (full: the oldest is evicted)
  uint32_t max_half_open_per_source = 0;     // 0: unlimited (full: refused)
  std::vector<uint32_t> zone_max_half_open;  // by zone of origin; 0: unlimited (full: evict)
  bool source_flood_limited = false;
  rte_meter_srtcm_profile source_flood{};
  uint64_t tcp_established_tsc = 0, tcp_transitory_tsc = 0, udp_tsc = 0, icmp_tsc = 0;

 private:
  FirewallTables() = default;
  rte_acl_ctx* rules4_ = nullptr;
  rte_acl_ctx* rules6_ = nullptr;
  rte_acl_ctx* sources4_ = nullptr;
  rte_acl_ctx* sources6_ = nullptr;
};

// How the control lcore hands workers new rule tables (see table_slot.h).
using FirewallTableSlot = TableSlot<FirewallTables>;

}  // namespace sbc::dataplane
