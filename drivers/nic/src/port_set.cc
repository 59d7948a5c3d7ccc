#include "sbc/drivers/nic/port_set.h"

#include <rte_bus_vdev.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>

#include "sbc/drivers/nic/mbuf_pool.h"
#include "sbc/drivers/nic/rss.h"

namespace sbc::drivers::nic {
namespace {

std::string DpdkError(int ret) { return rte_strerror(ret < 0 ? -ret : ret); }

bool IsRingPort(const schema::Port& port) {
  return port.has_vdev() && board::VdevDriver(port.vdev()) == "net_ring";
}

// RSS over IP addresses and L4 ports with the symmetric key, limited to what the
// device can hash. Devices without RSS (virtual ones) get a single-queue mode or, with
// several queues, rely on the sender steering (the sim wire does).
rte_eth_conf PortConf(const rte_eth_dev_info& info, uint16_t queues, uint8_t* rss_key) {
  rte_eth_conf conf{};
  const uint64_t wanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_SCTP;
  const uint64_t hf = wanted & info.flow_type_rss_offloads;
  if (queues > 1 && hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = rss_key;
    conf.rx_adv_conf.rss_conf.rss_key_len = kRssKeyLength;
    conf.rx_adv_conf.rss_conf.rss_hf = hf;
  }
  if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
  return conf;
}

}  // namespace

std::expected<std::unique_ptr<PortSet>, std::string> PortSet::Open(const board::Board& board,
                                                                   uint16_t queues) {
  std::unique_ptr<PortSet> set(new PortSet());
  set->queues_ = queues;
  auto pool = CreateMbufPool(board, queues, "sbc_mbufs_" + board.name());
  if (!pool) return std::unexpected(pool.error());
  set->pool_ = *pool;

  const bool all_ring = std::all_of(board.ports().begin(), board.ports().end(), IsRingPort);
  if (all_ring) set->sim_wire_ = std::make_unique<SimWire>(queues);

  for (const schema::Port& spec : board.ports()) {
    Port port;
    port.name = spec.name();
    port.device = spec.has_pci() ? spec.pci() : std::string(board::VdevName(spec.vdev()));
    const std::string label = "port " + port.name + " (" + port.device + "): ";

    if (IsRingPort(spec)) {
      if (!set->sim_wire_)
        return std::unexpected(label + "net_ring ports need every port of the board to be one");
      auto wire_port = set->sim_wire_->AddPort(port.name, board::RxDescriptors(spec),
                                               board::TxDescriptors(spec));
      if (!wire_port) return std::unexpected(label + wire_port.error());
      const auto rx = set->sim_wire_->rx_rings(*wire_port);
      const auto tx = set->sim_wire_->tx_rings(*wire_port);
      const int id = rte_eth_from_rings(port.device.c_str(), rx.data(), queues, tx.data(), queues,
                                        rte_socket_id());
      if (id < 0)
        return std::unexpected(label + "cannot create ring device: " + rte_strerror(rte_errno));
      port.port_id = static_cast<uint16_t>(id);
    } else {
      uint16_t id = 0;
      if (rte_eth_dev_get_port_by_name(port.device.c_str(), &id) != 0)
        return std::unexpected(label + "device was not probed (driver missing, or absent)");
      port.port_id = id;
    }
    // Record the port before configuring it so Close() tears down a half-opened one.
    set->ports_.push_back(port);
    if (auto ok = set->Configure(spec, set->ports_.back()); !ok)
      return std::unexpected(label + ok.error());
  }
  return set;
}

std::expected<void, std::string> PortSet::Configure(const schema::Port& spec, Port& port) {
  rte_eth_dev_info info{};
  if (int ret = rte_eth_dev_info_get(port.port_id, &info); ret != 0)
    return std::unexpected("cannot read device info: " + DpdkError(ret));
  if (info.max_rx_queues < queues_ || info.max_tx_queues < queues_)
    return std::unexpected("device has " + std::to_string(info.max_rx_queues) + " RX / " +
                           std::to_string(info.max_tx_queues) + " TX queues, the board needs " +
                           std::to_string(queues_) + " (one per worker)");

  std::array<uint8_t, kRssKeyLength> key = kSymmetricRssKey;
  rte_eth_conf conf = PortConf(info, queues_, key.data());
  if (int ret = rte_eth_dev_configure(port.port_id, queues_, queues_, &conf); ret != 0)
    return std::unexpected("cannot configure " + std::to_string(queues_) +
                           " queues: " + DpdkError(ret));

  uint16_t rx_desc = static_cast<uint16_t>(board::RxDescriptors(spec));
  uint16_t tx_desc = static_cast<uint16_t>(board::TxDescriptors(spec));
  if (int ret = rte_eth_dev_adjust_nb_rx_tx_desc(port.port_id, &rx_desc, &tx_desc); ret != 0)
    return std::unexpected("cannot fit descriptor counts: " + DpdkError(ret));

  const int socket = rte_eth_dev_socket_id(port.port_id);
  const unsigned numa = socket < 0 ? rte_socket_id() : static_cast<unsigned>(socket);
  for (uint16_t q = 0; q < queues_; ++q) {
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = conf.txmode.offloads;
    if (int ret = rte_eth_rx_queue_setup(port.port_id, q, rx_desc, numa, nullptr, pool_); ret != 0)
      return std::unexpected("cannot set up RX queue " + std::to_string(q) + ": " + DpdkError(ret));
    if (int ret = rte_eth_tx_queue_setup(port.port_id, q, tx_desc, numa, &txconf); ret != 0)
      return std::unexpected("cannot set up TX queue " + std::to_string(q) + ": " + DpdkError(ret));
  }

  // Virtual devices may not support an MTU; only a real refusal is an error.
  const int mtu_ret = rte_eth_dev_set_mtu(port.port_id, static_cast<uint16_t>(board::Mtu(spec)));
  if (mtu_ret != 0 && mtu_ret != -ENOTSUP)
    return std::unexpected("cannot set MTU " + std::to_string(board::Mtu(spec)) + ": " +
                           DpdkError(mtu_ret));

  if (int ret = rte_eth_dev_start(port.port_id); ret != 0)
    return std::unexpected("cannot start: " + DpdkError(ret));
  port.started = true;

  // A bump in the wire forwards frames for every MAC address.
  const int promisc_ret = rte_eth_promiscuous_enable(port.port_id);
  if (promisc_ret != 0 && promisc_ret != -ENOTSUP)
    return std::unexpected("cannot enable promiscuous mode: " + DpdkError(promisc_ret));
  return {};
}

PortSet::~PortSet() { Close(); }

std::optional<size_t> PortSet::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < ports_.size(); ++i)
    if (ports_[i].name == name) return i;
  return std::nullopt;
}

std::expected<PortStats, std::string> PortSet::Stats(size_t index) const {
  rte_eth_stats raw{};
  if (int ret = rte_eth_stats_get(ports_[index].port_id, &raw); ret != 0)
    return std::unexpected("port " + ports_[index].name +
                           ": cannot read counters: " + DpdkError(ret));
  return PortStats{.rx_packets = raw.ipackets,
                   .rx_bytes = raw.ibytes,
                   .tx_packets = raw.opackets,
                   .tx_bytes = raw.obytes,
                   .rx_missed = raw.imissed,
                   .rx_errors = raw.ierrors,
                   .tx_errors = raw.oerrors,
                   .rx_no_mbuf = raw.rx_nombuf};
}

LinkState PortSet::Link(size_t index) const {
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(ports_[index].port_id, &link) != 0) return {};
  return LinkState{.up = link.link_status == RTE_ETH_LINK_UP,
                   .speed_mbps = link.link_speed,
                   .full_duplex = link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX};
}

void PortSet::Close() {
  for (Port& port : ports_) {
    if (port.started) (void)rte_eth_dev_stop(port.port_id);
    port.started = false;
    // rte_eth_from_rings registered a vdev of its own name ("net_ring_<name>"):
    // uninit removes it from the bus as well as closing the port, so the same board
    // can be opened again in this process.
    char device[RTE_ETH_NAME_MAX_LEN] = {};
    if (sim_wire_ && rte_eth_dev_get_name_by_port(port.port_id, device) == 0)
      (void)rte_vdev_uninit(device);
    else
      (void)rte_eth_dev_close(port.port_id);
  }
  ports_.clear();
  // The rings may still hold frames: return them before the pool goes.
  sim_wire_.reset();
  if (pool_ != nullptr) rte_mempool_free(pool_);
  pool_ = nullptr;
}

}  // namespace sbc::drivers::nic
