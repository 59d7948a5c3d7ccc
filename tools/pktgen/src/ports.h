// sbc-pktgen's DPDK side: EAL on one core, and its ports (any vdev: net_memif shared
// with the appliance, net_af_packet on a veth, ...; or a rig's NIC ports), each with
// one RX and one TX queue, started and waited for until the link is up.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

struct rte_mempool;

namespace sbc::tools::pktgen {

struct EalSpec {
  std::vector<std::string> vdevs;  // one port each, in order
  std::vector<std::string> pci;    // NIC ports by PCI address (a real rig), before the vdevs
  std::string file_prefix = "sbc-pktgen";
  int memory_mb = 1024;
  int lcore = 0;
};

struct Ports {
  std::vector<uint16_t> ids;
  rte_mempool* pool = nullptr;
};

[[nodiscard]] std::expected<Ports, std::string> OpenPorts(const EalSpec& spec,
                                                          double link_wait_s = 10);
void ClosePorts(const Ports& ports);

}  // namespace sbc::tools::pktgen
