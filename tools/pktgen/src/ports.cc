#include "ports.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdio>

namespace sbc::tools::pktgen {
namespace {

// The device behind the n-th port: NICs first (in --pci order), then the vdevs.
std::string Name(const EalSpec& spec, size_t n) {
  if (n < spec.pci.size()) return spec.pci[n];
  return n - spec.pci.size() < spec.vdevs.size() ? spec.vdevs[n - spec.pci.size()] : "?";
}

}  // namespace

std::expected<Ports, std::string> OpenPorts(const EalSpec& spec, double link_wait_s) {
  std::vector<std::string> args = {"sbc-pktgen",
                                   "--file-prefix=" + spec.file_prefix,
                                   "-l",
                                   std::to_string(spec.lcore),
                                   "--log-level=*:warning",
                                   "--no-telemetry"};
  if (spec.pci.empty()) {
    // Virtual ports only: no hugepages, no PCI scan.
    for (const char* a : {"--no-huge", "--no-pci"}) args.push_back(a);
    args.push_back("-m");
    args.push_back(std::to_string(spec.memory_mb));
  }
  for (const std::string& address : spec.pci) args.push_back("--allow=" + address);
  for (const std::string& vdev : spec.vdevs) args.push_back("--vdev=" + vdev);
  std::vector<char*> argv;
  argv.reserve(args.size());
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0)
    return std::unexpected("EAL: " + std::string(rte_strerror(rte_errno)));
  Ports ports;
  // A stack: the mbuf freed last is the next one taken, still in this core's cache (a
  // ring cycles through all of them: a footprint of tens of megabytes).
  ports.pool =
      rte_pktmbuf_pool_create_by_ops("pktgen_mbufs", 32767, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     static_cast<int>(rte_socket_id()), "stack");
  if (ports.pool == nullptr)
    return std::unexpected("mbuf pool: " + std::string(rte_strerror(rte_errno)));
  for (uint16_t id = 0; id < RTE_MAX_ETHPORTS; ++id) {
    if (!rte_eth_dev_is_valid_port(id)) continue;
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(id, 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(id, 0, 2048, 0, nullptr, ports.pool) != 0 ||
        rte_eth_tx_queue_setup(id, 0, 2048, 0, nullptr) != 0 || rte_eth_dev_start(id) != 0)
      return std::unexpected(
          "port " + std::to_string(id) + " (" + Name(spec, ports.ids.size()) +
          "): cannot be configured and started (a memif client needs its server running)");
    rte_eth_promiscuous_enable(id);
    ports.ids.push_back(id);
  }
  if (ports.ids.size() != spec.pci.size() + spec.vdevs.size())
    return std::unexpected(std::to_string(ports.ids.size()) + " ports came up for " +
                           std::to_string(spec.pci.size() + spec.vdevs.size()) +
                           " --pci and --port devices");
  std::fprintf(stderr, "sbc-pktgen: %zu ports started, waiting for their links\n",
               ports.ids.size());
  // A memif client is up once its server has accepted it: wait, but not for ever.
  const uint64_t deadline =
      rte_get_tsc_cycles() +
      static_cast<uint64_t>(link_wait_s * static_cast<double>(rte_get_tsc_hz()));
  for (uint16_t port : ports.ids) {
    rte_eth_link link{};
    while (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_DOWN &&
           rte_get_tsc_cycles() < deadline)
      usleep(10000);
    if (link.link_status == RTE_ETH_LINK_DOWN)
      return std::unexpected("port " + std::to_string(port) + " (" + Name(spec, port) +
                             "): no link within " + std::to_string(link_wait_s) +
                             " s (is the other side running?)");
  }
  return ports;
}

void ClosePorts(const Ports& ports) {
  for (uint16_t port : ports.ids) {
    (void)rte_eth_dev_stop(port);
    (void)rte_eth_dev_close(port);
  }
  rte_eal_cleanup();
}

}  // namespace sbc::tools::pktgen
