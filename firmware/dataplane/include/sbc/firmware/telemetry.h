// The dataplane's counters on DPDK telemetry (dpdk-telemetry.py, or any client of the
// telemetry socket): /sbc/counters (ports, drops by reason, flows, rules version) and
// /sbc/rules (packets and bytes per rule). Keys use '_' only, as telemetry requires:
// drop_runt_frame, port_wan0_rx_packets, carrier_rtp_packets.
#pragma once

namespace sbc::firmware {

class Dataplane;

// Control thread. Serves `dataplane`'s counters until Unpublish(). The commands are
// registered with DPDK once per process; between dataplanes they answer an error.
void PublishTelemetry(Dataplane* dataplane);
// Control thread. After it returns, no telemetry callback touches the dataplane.
void UnpublishTelemetry();

}  // namespace sbc::firmware
