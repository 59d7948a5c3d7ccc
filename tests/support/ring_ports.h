// Two ethdev ports over rte_rings (DPDK's net_ring), a worker's test bed: the test puts
// frames on rx[p] for the worker to receive on port p, and takes what the worker sent
// out of port p from tx[p].
#pragma once

#include <gtest/gtest.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstddef>
#include <string>

#include "sbc/dataplane/core/wire_worker.h"

namespace sbc::testing {

struct RingPorts {
  rte_ring* rx[2] = {};
  rte_ring* tx[2] = {};
  uint16_t port[2] = {};

  // `name`: unique in the process (DPDK names rings and ports globally).
  void Open(const std::string& name, rte_mempool* pool) {
    for (int p = 0; p < 2; ++p) {
      const std::string n = name + "_" + std::to_string(p);
      rx[p] = rte_ring_create((n + "_rx").c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      tx[p] = rte_ring_create((n + "_tx").c_str(), 256, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
      ASSERT_NE(rx[p], nullptr);
      ASSERT_NE(tx[p], nullptr);
      const int id = rte_eth_from_rings(n.c_str(), &rx[p], 1, &tx[p], 1, 0);
      ASSERT_GE(id, 0);
      port[p] = uint16_t(id);
      rte_eth_conf conf{};
      ASSERT_EQ(rte_eth_dev_configure(port[p], 1, 1, &conf), 0);
      ASSERT_EQ(rte_eth_rx_queue_setup(port[p], 0, 256, 0, nullptr, pool), 0);
      ASSERT_EQ(rte_eth_tx_queue_setup(port[p], 0, 256, 0, nullptr), 0);
      ASSERT_EQ(rte_eth_dev_start(port[p]), 0);
    }
  }
  // The worker's two links: what port 0 receives leaves by port 1, and back.
  std::array<dataplane::WireLink, 2> CrossLinks() const {
    return {{{.rx_port_id = port[0], .tx_port_id = port[1], .rx_slot = 0, .tx_slot = 1},
             {.rx_port_id = port[1], .tx_port_id = port[0], .rx_slot = 1, .tx_slot = 0}}};
  }
  // Stops the ports and frees what is left on their rings.
  void Close() {
    for (int p = 0; p < 2; ++p) {
      rte_eth_dev_stop(port[p]);
      rte_eth_dev_close(port[p]);
      FreeAll(rx[p]);
      FreeAll(tx[p]);
      rte_ring_free(rx[p]);
      rte_ring_free(tx[p]);
    }
  }
  // Frees every frame on `ring`; returns how many there were.
  static size_t FreeAll(rte_ring* ring) {
    void* m;
    size_t n = 0;
    while (ring != nullptr && rte_ring_dequeue(ring, &m) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      ++n;
    }
    return n;
  }
};

}  // namespace sbc::testing
