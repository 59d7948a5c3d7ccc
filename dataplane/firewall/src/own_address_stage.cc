#include "sbc/dataplane/firewall/own_address_stage.h"

#include "meter.h"

namespace sbc::dataplane {

void OwnAddressStage::SyncMeters(const FirewallTables& tables) noexcept {
  if (meters_generation_ == tables.generation) return;
  rte_meter_srtcm_config(&resolution_meter_,
                         const_cast<rte_meter_srtcm_profile*>(&tables.resolution_meter));
  rte_meter_srtcm_config(&echo_meter_, const_cast<rte_meter_srtcm_profile*>(&tables.echo_meter));
  meters_generation_ = tables.generation;
}

void OwnAddressStage::Answer(const FirewallTables& tables, rte_mbuf* const* frames,
                             const PacketMeta* meta, const uint16_t* which, uint16_t count,
                             const OwnAddressRequest* kind, uint8_t rx_slot, uint64_t now,
                             DropReason* verdict) noexcept {
  for (uint16_t k = 0; k < count; ++k) {
    const uint16_t i = which[k];
    const bool resolution = kind[i] == OwnAddressRequest::kResolution;
    const bool allowed = resolution ? MeterAllows(resolution_meter_, tables.resolution_meter, now)
                                    : MeterAllows(echo_meter_, tables.echo_meter, now);
    if (!allowed || !MakeOwnAddressReply(frames[i], meta[i], tables.port_macs[rx_slot]))
      verdict[i] = resolution ? DropReason::kResolutionLimited : DropReason::kEchoLimited;
  }
}

}  // namespace sbc::dataplane
