// Firewall throughput per worker core, measured in-process as docs/PERFORMANCE.md
// describes: one net_ring port whose TX ring is its own RX ring, pre-filled with
// prebuilt 64-byte UDP packets that circulate forever (no generator, no per-packet
// writes). The firewall worker's real poll loop runs on this core; so does bare
// rx->tx forwarding (WireWorker) on the same port and packets, as the baseline.
//
//   cmake --preset release && cmake --build --preset release --target firewall_bench
//   build/release/tests/bench/firewall_bench --rules 10000 --flows 1000000 --seconds 2 --repeats 5
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bench_eal.h"
#include "sbc/dataplane/core/table_slot.h"
#include "sbc/dataplane/core/wire_worker.h"
#include "sbc/dataplane/worker/worker.h"

namespace {

using namespace sbc::dataplane;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "firewall_bench: %s\n", what.c_str());
  std::exit(1);
}

IpPrefix V4(uint32_t host_order, uint8_t length) {
  IpPrefix p;
  p.address[0] = uint8_t(host_order >> 24);
  p.address[1] = uint8_t(host_order >> 16);
  p.address[2] = uint8_t(host_order >> 8);
  p.address[3] = uint8_t(host_order);
  p.length = length;
  return p;
}

// Flow i: 10.<i/16 as 3 bytes> port 1024 + i % 16 -> 192.0.2.1:5004.
uint32_t FlowSource(uint32_t i) { return (10u << 24) | (i / 16); }
uint16_t FlowPort(uint32_t i) { return uint16_t(1024 + i % 16); }

// `rules` rules, none of which match the traffic except one in the middle, so every
// lookup walks a realistic trie. One zone holds the one port (traffic turns around).
RuleTableSpec Rules(uint32_t rules, uint32_t flows) {
  RuleTableSpec spec;
  spec.version = 1;
  spec.zone_names = {"bench"};
  spec.zones.resize(1);
  spec.zones[0].port_slots = {0};
  std::mt19937 rng(7);
  for (uint32_t i = 0; i < rules; ++i) {
    RuleSpec r;
    r.protocol = i % 2 ? IpProtocol::kUdp : IpProtocol::kTcp;
    r.sources = {V4((172u << 24) | (rng() & 0x00ffff00u), 24)};
    r.destinations = {V4((198u << 24) | (51u << 16) | (rng() & 0xff00u), 24)};
    const uint16_t port = uint16_t(1024 + rng() % 60000);
    r.destination_ports = {{port, uint16_t(port + rng() % 16)}};
    spec.rules.push_back(r);
    spec.rule_names.push_back("random-" + std::to_string(i));
  }
  RuleSpec allow;
  allow.protocol = IpProtocol::kUdp;
  allow.sources = {V4(10u << 24, 8)};
  allow.destinations = {V4((192u << 24) | (2u << 8) | 1, 32)};
  allow.destination_ports = {{5004, 5004}};
  spec.rules.insert(spec.rules.begin() + rules / 2, allow);
  spec.rule_names.insert(spec.rule_names.begin() + rules / 2, "bench-traffic");
  spec.conntrack.max_flows = flows + flows / 4;
  spec.conntrack.udp_timeout_s = 3600;  // nothing expires during the run
  return spec;
}

void FillPacket(rte_mbuf* m, uint32_t flow) {
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
  std::fill_n(p, 60, 0);
  p[0] = 0x02, p[5] = 0x02, p[6] = 0x02, p[11] = 0x01;
  p[12] = 0x08;  // IPv4
  uint8_t* ip = p + 14;
  ip[0] = 0x45;
  ip[3] = 46;  // total length: 20 + 8 + 18
  ip[8] = 64;
  ip[9] = 17;
  const uint32_t src = FlowSource(flow);
  ip[12] = uint8_t(src >> 24), ip[13] = uint8_t(src >> 16), ip[14] = uint8_t(src >> 8),
  ip[15] = uint8_t(src);
  ip[16] = 192, ip[17] = 0, ip[18] = 2, ip[19] = 1;
  uint8_t* udp = ip + 20;
  const uint16_t sport = FlowPort(flow);
  udp[0] = uint8_t(sport >> 8), udp[1] = uint8_t(sport);
  udp[2] = 5004 >> 8, udp[3] = 5004 & 0xff;
  udp[5] = 26;
}

struct Run {
  double mpps;
  double cycles_per_packet;
};

// Polls for `seconds`; every poll does work, since all packets circulate.
template <typename Poll>
Run Measure(Poll poll, double seconds) {
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + uint64_t(seconds * double(hz));
  uint64_t packets = 0, now = start;
  while (now < end) {
    for (int i = 0; i < 64; ++i) packets += poll();
    now = rte_rdtsc();
  }
  const double cycles = double(now - start);
  return {double(packets) / (cycles / double(hz)) / 1e6, cycles / double(packets)};
}

Run Median(std::vector<Run> runs) {
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.mpps < b.mpps; });
  return runs[runs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"firewall throughput per worker core, with a bare rx->tx baseline"};
  uint32_t rules = 10000, flows = 1000000, repeats = 5;
  double seconds = 2.0;
  app.add_option("--rules", rules);
  app.add_option("--flows", flows);
  app.add_option("--seconds", seconds, "per measurement");
  app.add_option("--repeats", repeats, "measurements per mode; the median is reported");
  CLI11_PARSE(app, argc, argv);

  sbc::bench::InitEal("firewall_bench", 3072);

  const uint32_t ring_size = rte_align32pow2(flows + 1024);
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench_pool", flows + 4096, 256, 0, RTE_PKTMBUF_HEADROOM + 128, 0);
  if (pool == nullptr) Die(std::string("pool: ") + rte_strerror(rte_errno));
  rte_ring* ring = rte_ring_create("bench_ring", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (ring == nullptr) Die(std::string("ring: ") + rte_strerror(rte_errno));
  const int port = rte_eth_from_ring(ring);
  if (port < 0) Die("ring port");
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(uint16_t(port), 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(uint16_t(port), 0, 1024, 0, nullptr, pool) != 0 ||
      rte_eth_tx_queue_setup(uint16_t(port), 0, 1024, 0, nullptr) != 0 ||
      rte_eth_dev_start(uint16_t(port)) != 0)
    Die("port setup");
  for (uint32_t i = 0; i < flows; ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) Die("out of mbufs");
    FillPacket(m, i);
    if (rte_ring_enqueue(ring, m) != 0) Die("ring full");
  }

  const WireLink link{.rx_port_id = uint16_t(port),
                      .tx_port_id = uint16_t(port),
                      .rx_slot = 0,
                      .tx_slot = 0,
                      .queue = 0};
  auto slot = FirewallTableSlot::Create(1);
  if (!slot) Die(slot.error());
  const uint64_t build_start = rte_rdtsc();
  auto tables = FirewallTables::Build(Rules(rules, flows), 1, rte_get_tsc_hz());
  if (!tables) Die(tables.error());
  const double build_ms = double(rte_rdtsc() - build_start) * 1e3 / double(rte_get_tsc_hz());
  (*slot)->Publish(std::move(*tables));
  auto firewall = Worker::Create({&link, 1}, **slot, 0, flows + flows / 4);
  if (!firewall) Die(firewall.error());
  WireWorker bare({&link, 1});

  // Flow setup: the first pass over every packet misses the connection table.
  const uint64_t setup_start = rte_rdtsc();
  uint64_t seen = 0;
  while (seen < flows) seen += (*firewall)->PollOnce();
  const double setup_cycles = double(rte_rdtsc() - setup_start) / double(seen);
  if ((*firewall)->flows() != flows)
    Die("expected " + std::to_string(flows) + " flows, have " +
        std::to_string((*firewall)->flows()));

  std::vector<Run> fw, base;
  for (uint32_t r = 0; r < repeats; ++r) {
    base.push_back(Measure([&] { return bare.PollOnce(); }, seconds));
    fw.push_back(Measure([&] { return (*firewall)->PollOnce(); }, seconds));
  }
  const Run f = Median(fw), b = Median(base);
  const auto totals = SumCounters(std::vector<const WorkerCounters*>{&(*firewall)->counters()});
  const double ghz = double(rte_get_tsc_hz()) / 1e9;
  std::printf(
      "firewall_bench: %u rules (ACL build %.0f ms), %u flows, 64-byte UDP, 1 worker core, TSC "
      "%.2f GHz\n",
      rules, build_ms, flows, ghz);
  std::printf("  %-34s %8.2f Mpps %8.1f cycles/packet\n", "bare rx->tx (baseline, median)", b.mpps,
              b.cycles_per_packet);
  std::printf("  %-34s %8.2f Mpps %8.1f cycles/packet  (%.2f of baseline)\n",
              "firewall, established (median)", f.mpps, f.cycles_per_packet, f.mpps / b.mpps);
  std::printf("  %-34s %8.2f Mpps %8.1f cycles/packet\n", "firewall, flow setup (first pass)",
              ghz * 1e3 / setup_cycles, setup_cycles);
  std::printf(
      "  min/max firewall Mpps over %u runs: %.2f / %.2f; drops: %lu\n", repeats,
      std::min_element(fw.begin(), fw.end(), [](auto& x, auto& y) { return x.mpps < y.mpps; })
          ->mpps,
      std::max_element(fw.begin(), fw.end(), [](auto& x, auto& y) { return x.mpps < y.mpps; })
          ->mpps,
      static_cast<unsigned long>(totals.drops_total()));
  std::printf(
      "{\"rules\":%u,\"flows\":%u,\"baseline_mpps\":%.3f,\"baseline_cycles\":%.1f,"
      "\"firewall_mpps\":%.3f,\"firewall_cycles\":%.1f,\"ratio\":%.3f,\"setup_cycles\":%.1f}\n",
      rules, flows, b.mpps, b.cycles_per_packet, f.mpps, f.cycles_per_packet, f.mpps / b.mpps,
      setup_cycles);
  return totals.drops_total() == 0 ? 0 : 1;
}
