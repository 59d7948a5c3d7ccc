// The own-address step of a worker's pipeline: the requests the worker found for one
// of the appliance's own addresses (own_address.h) are answered in place, each kind
// on its own meter (address resolution, echo), so a ping flood cannot starve ARP.
// One per worker, its lcore only. Nothing here allocates, locks, logs or throws.
#pragma once

#include <rte_meter.h>

#include <cstdint>

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/firewall/firewall_tables.h"
#include "sbc/dataplane/firewall/own_address.h"

struct rte_mbuf;

namespace sbc::dataplane {

class OwnAddressStage {
 public:
  // Once per poll: after a rule swap both meters start with a full bucket.
  void SyncMeters(const FirewallTables& tables) noexcept;

  // For frames which[k], k < count, each a request of kind[which[k]] (not kNone):
  // rewrites it into its reply from the ingress port's address (verdict[which[k]]
  // stays kNotDropped: it leaves by the port it came in on), or sets
  // verdict[which[k]] to the kind's limit reason when its meter is empty or the
  // reply cannot be built.
  void Answer(const FirewallTables& tables, rte_mbuf* const* frames, const PacketMeta* meta,
              const uint16_t* which, uint16_t count, const OwnAddressRequest* kind, uint8_t rx_slot,
              uint64_t now, DropReason* verdict) noexcept;

 private:
  rte_meter_srtcm resolution_meter_{}, echo_meter_{};
  uint32_t meters_generation_ = 0;
};

}  // namespace sbc::dataplane
