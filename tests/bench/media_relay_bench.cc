// The media relay's cost per packet on one worker core, in the real worker loop:
// Worker::PollOnce on two net_ring ports (rx, parse, anti-spoofing, relay-port
// lookup, SRTP through crypto_aesni_mb, readdressing, tx), 10,000 sessions with keys
// of their own, 172-byte RTP (160-byte payload), for SRTP->RTP, RTP->SRTP and
// SRTP->SRTP, AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM. Every packet meets a cold
// session, as 10,000 calls at 50 packets/s would.
//
// Each measurement offers one packet per session (10,000 frames, prepared beforehand
// with fresh sequence numbers and, for SRTP input, encrypted by the same engine with the
// sending party's keys), then times PollOnce until all have been relayed. Baseline in
// the same run: bare rx->tx (WireWorker) over the same rings and frames.
//
//   cmake --preset release && cmake --build --preset release --target media_relay_bench
//   build/release/tests/bench/media_relay_bench --sessions 10000 --repeats 5
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_eal.h"
#include "media_session.h"  // dataplane/media/src: the sessions' runtime layout
#include "sbc/dataplane/core/table_slot.h"
#include "sbc/dataplane/core/wire_worker.h"
#include "sbc/dataplane/media/media_table.h"
#include "sbc/dataplane/srtp/srtp_batch.h"
#include "sbc/dataplane/worker/worker.h"
#include "sbc/drivers/crypto/crypto_device.h"
#include "support/rtp_header.h"

namespace {

using namespace sbc::dataplane;
constexpr uint16_t kPayload = 160;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "media_relay_bench: %s\n", what.c_str());
  std::exit(1);
}

std::array<uint8_t, 16> V4(uint32_t host_order) {
  std::array<uint8_t, 16> a{};
  a[0] = uint8_t(host_order >> 24), a[1] = uint8_t(host_order >> 16),
  a[2] = uint8_t(host_order >> 8);
  a[3] = uint8_t(host_order);
  return a;
}

// An Ethernet/IPv4/UDP frame carrying RTP (checksums left zero: the relay rewrites them).
rte_mbuf* Frame(rte_mempool* pool, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
                uint32_t ssrc, uint16_t seq) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) Die("out of mbufs");
  const uint16_t rtp = 12 + kPayload;
  uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, uint16_t(42 + rtp)));
  if (p == nullptr) Die("no room in an mbuf");
  std::fill_n(p, 42, uint8_t{0});
  p[0] = 0x02, p[5] = 0x01, p[6] = 0x02, p[11] = 0x02, p[12] = 0x08;
  uint8_t* ip = p + 14;
  ip[0] = 0x45, ip[2] = uint8_t((20 + 8 + rtp) >> 8), ip[3] = uint8_t(20 + 8 + rtp), ip[8] = 64,
  ip[9] = 17;
  std::memcpy(ip + 12, V4(src).data(), 4);
  std::memcpy(ip + 16, V4(dst).data(), 4);
  uint8_t* udp = ip + 20;
  udp[0] = uint8_t(sport >> 8), udp[1] = uint8_t(sport), udp[2] = uint8_t(dport >> 8),
  udp[3] = uint8_t(dport);
  udp[4] = uint8_t((8 + rtp) >> 8), udp[5] = uint8_t(8 + rtp);
  uint8_t* r = udp + 8;
  const uint32_t ts = 160u * seq;
  const std::array<uint8_t, 12> header = sbc::testing::RtpHeader(ssrc, seq, ts);
  std::memcpy(r, header.data(), header.size());
  for (int i = 0; i < kPayload; ++i) r[12 + i] = uint8_t(i * 7 + seq);
  return m;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"media relay cycles per packet in the worker loop, with bare rx->tx as baseline"};
  uint32_t sessions = 10000, repeats = 5;
  app.add_option("--sessions", sessions);
  app.add_option("--repeats", repeats, "measurements per mode; the median is reported");
  std::string only_suite, only_mode;
  app.add_option("--suite", only_suite,
                 "only this suite (e.g. AES_CM_128_HMAC_SHA1_80), for profiling");
  app.add_option("--mode", only_mode,
                 "only this path (SRTP->RTP, RTP->SRTP or SRTP->SRTP), for profiling");
  std::string perf_control, perf_ack;
  auto* control = app.add_option(
      "--perf-control", perf_control,
      "the FIFOs given to `perf record -D -1 --control=fifo:CONTROL,ACK`: the bench "
      "enables perf around the timed relay polls only, so a profile leaves out set-up");
  app.add_option("--perf-ack", perf_ack)->needs(control);
  control->needs(app.get_option("--perf-ack"));
  CLI11_PARSE(app, argc, argv);
  FILE* perf = perf_control.empty() ? nullptr : std::fopen(perf_control.c_str(), "w");
  FILE* ack = perf_ack.empty() ? nullptr : std::fopen(perf_ack.c_str(), "r");
  if (!perf_control.empty() && (perf == nullptr || ack == nullptr))
    Die("cannot open the perf FIFOs");
  // perf answers each command with "ack" once it has taken effect.
  auto profile = [perf, ack](const char* command) {
    if (perf == nullptr) return;
    std::fputs(command, perf);
    std::fflush(perf);
    char line[16];
    if (std::fgets(line, sizeof line, ack) == nullptr) Die("perf did not acknowledge");
  };
  if (sessions == 0 || sessions > 20000) Die("--sessions must be 1..20000");
  if (repeats == 0 || repeats > 100) Die("--repeats must be 1..100");

  sbc::bench::InitEal("media_relay_bench", 2048);
  if (rte_vdev_init("crypto_aesni_mb_relay", nullptr) != 0) Die("crypto_aesni_mb vdev");
  auto device = sbc::drivers::crypto::CryptoDevice::Open({.name = "crypto_aesni_mb_relay",
                                                          .queue_pairs = 2,
                                                          .sessions = 10 * sessions + 64,
                                                          .ops = 1024});
  if (!device) Die(device.error());
  const uint32_t frames_needed = sessions * (repeats + 1) + 4096;
  rte_mempool* pool =
      rte_pktmbuf_pool_create("relay_mbufs", frames_needed, 256, 0, RTE_PKTMBUF_HEADROOM + 512, 0);
  if (pool == nullptr) Die("mbuf pool");
  const uint32_t ring_size = rte_align32pow2(sessions + 1024);
  rte_ring* a_rx = rte_ring_create("a_rx", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* a_tx = rte_ring_create("a_tx", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* b_rx = rte_ring_create("b_rx", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* b_tx = rte_ring_create("b_tx", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  const int a = rte_eth_from_rings("relay_a", &a_rx, 1, &a_tx, 1, 0);
  const int b = rte_eth_from_rings("relay_b", &b_rx, 1, &b_tx, 1, 0);
  if (a < 0 || b < 0) Die("ring ports");
  for (int port : {a, b}) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(uint16_t(port), 1, 1, &conf) != 0 ||
        rte_eth_rx_queue_setup(uint16_t(port), 0, 1024, 0, nullptr, pool) != 0 ||
        rte_eth_tx_queue_setup(uint16_t(port), 0, 1024, 0, nullptr) != 0 ||
        rte_eth_dev_start(uint16_t(port)) != 0)
      Die("port setup");
  }
  const WireLink links[] = {
      {.rx_port_id = uint16_t(a), .tx_port_id = uint16_t(b), .rx_slot = 0, .tx_slot = 1},
      {.rx_port_id = uint16_t(b), .tx_port_id = uint16_t(a), .rx_slot = 1, .tx_slot = 0}};
  auto slot = FirewallTableSlot::Create(1);
  if (!slot) Die(slot.error());
  RuleTableSpec spec;
  spec.version = 1;
  spec.zone_names = {"a", "b"};
  spec.zones = {{.port_slots = {0}}, {.port_slots = {1}}};
  IpPrefix service;
  service.address = V4(0x0a0000fa);  // 10.0.0.250
  service.length = 32;
  spec.local_addresses = {service};
  auto tables = FirewallTables::Build(spec, 1, rte_get_tsc_hz());
  if (!tables) Die(tables.error());
  (*slot)->Publish(std::move(*tables));

  SrtpStreamFactory factory((*device)->id(), 1, (*device)->session_pool(), (*device)->op_pool());
  WireWorker bare({links, 1});
  const double ghz = double(rte_get_tsc_hz()) / 1e9;
  std::printf(
      "media_relay_bench: %u sessions, 172-byte RTP (160-byte payload), 1 worker core, TSC %.2f "
      "GHz\n",
      sessions, ghz);

  struct Mode {
    const char* name;
    bool srtp_in, srtp_out;
  };
  std::mt19937 rng(3);
  for (SrtpSuite suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm}) {
    if (!only_suite.empty() && only_suite != SrtpSuiteName(suite)) continue;
    for (Mode mode : {Mode{"SRTP->RTP", true, false}, Mode{"RTP->SRTP", false, true},
                      Mode{"SRTP->SRTP", true, true}}) {
      if (!only_mode.empty() && only_mode != mode.name) continue;
      auto table = MediaTable::Create(sessions, (*slot)->qsbr(), &factory);
      if (!table) Die(table.error());
      std::vector<SrtpStream> senders(sessions);  // the calling party's own encryption, for input
      for (uint32_t i = 0; i < sessions; ++i) {
        auto master = [&] {
          SrtpMasterKey k;
          k.suite = suite;
          for (auto& x : k.key) x = uint8_t(rng());
          for (auto& x : k.salt) x = uint8_t(rng());
          auto keys = factory.Derive(k);
          if (!keys) Die(keys.error());
          return *keys;
        };
        MediaSessionSpec s{.id = i + 1};
        const uint16_t port = uint16_t(20000 + 4 * i);
        s.legs[0] = {.local = {.address = service.address, .port = port},
                     .remote = MediaEndpoint{.address = V4(0xc6336400 + (i % 200) + 1),
                                             .port = uint16_t(4000 + i)},
                     .port_slot = 0};
        s.legs[1] = {.local = {.address = service.address, .port = uint16_t(port + 2)},
                     .remote = MediaEndpoint{.address = V4(0xcb007100 + (i % 200) + 1),
                                             .port = uint16_t(5000 + i)},
                     .port_slot = 1};
        if (mode.srtp_in) {
          s.legs[0].srtp_from_leg = master();
          s.legs[0].srtp_to_leg = master();
          if (!factory.Build(*s.legs[0].srtp_from_leg, SrtpDirection::kProtect, &senders[i]))
            Die("sender");
        }
        if (mode.srtp_out) {
          s.legs[1].srtp_from_leg = master();
          s.legs[1].srtp_to_leg = master();
        }
        if (auto ok = (*table)->Add(s); !ok) Die(ok.error());
      }
      // Both parties' link addresses as if they had spoken (the bench sends one way).
      for (const MediaSession* s : (*table)->Sessions())
        for (const MediaLeg& leg : s->legs) const_cast<MediaLeg&>(leg).link_known = true;

      // Input: `repeats` + 1 rounds of one packet per session, the first to warm up.
      SrtpBatch sealer((*device)->id(), 1, (*device)->op_pool(),
                       (*device)->session_pool());  // untimed
      std::vector<std::vector<rte_mbuf*>> rounds(repeats + 1);
      for (uint32_t r = 0; r <= repeats; ++r) {
        SrtpDone done[SrtpBatch::kMaxBurst];
        for (uint32_t i = 0; i < sessions; ++i) {
          rte_mbuf* m = Frame(pool, 0xc6336400 + (i % 200) + 1, uint16_t(4000 + i), 0x0a0000fa,
                              uint16_t(20000 + 4 * i), 0x1000 + i, uint16_t(r + 1));
          if (mode.srtp_in) {
            if (sealer.Add(m, 42, false, &senders[i], 0) != SrtpResult::kOk) Die("seal");
            sealer.Run(done);
            const uint16_t udp_len = uint16_t(m->pkt_len - 34);
            uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
            p[38] = uint8_t(udp_len >> 8), p[39] = uint8_t(udp_len);
            p[16] = uint8_t((udp_len + 20) >> 8), p[17] = uint8_t(udp_len + 20);
          }
          rounds[r].push_back(m);
        }
      }
      const MediaStage stage{
          .table = table->get(),
          .crypto = {(*device)->id(), 0, (*device)->op_pool(), (*device)->session_pool()}};
      auto worker = Worker::Create({links, 2}, **slot, 0, 1024, &stage);
      if (!worker) Die(worker.error());
      std::vector<double> relay, base;
      std::vector<rte_mbuf*> out(sessions);
      for (uint32_t r = 0; r <= repeats; ++r) {
        if (rte_ring_enqueue_bulk(a_rx, reinterpret_cast<void* const*>(rounds[r].data()), sessions,
                                  nullptr) != sessions)
          Die("rx ring");
        // Timed: the worker's polls until the offered frames are all taken.
        profile("enable\n");
        uint64_t start = rte_rdtsc_precise();
        uint64_t taken = 0;
        while (taken < sessions) taken += (*worker)->PollOnce();
        const uint64_t relay_cycles = rte_rdtsc_precise() - start;
        profile("disable\n");
        if (rte_ring_count(b_tx) != sessions)
          Die(std::to_string(sessions - rte_ring_count(b_tx)) + " packets not relayed in " +
              mode.name);
        // The same frames once more, bare rx->tx: the ring ports' own cost.
        if (rte_ring_dequeue_bulk(b_tx, reinterpret_cast<void**>(out.data()), sessions, nullptr) !=
            sessions)
          Die("tx ring");
        if (rte_ring_enqueue_bulk(a_rx, reinterpret_cast<void* const*>(out.data()), sessions,
                                  nullptr) != sessions)
          Die("rx ring");
        start = rte_rdtsc_precise();
        for (uint64_t moved = 0; moved < sessions;) moved += bare.PollOnce();
        const uint64_t bare_cycles = rte_rdtsc_precise() - start;
        if (rte_ring_dequeue_bulk(b_tx, reinterpret_cast<void**>(out.data()), sessions, nullptr) !=
            sessions)
          Die("tx ring");
        rte_pktmbuf_free_bulk(out.data(), sessions);
        if (r == 0) continue;  // warm-up
        relay.push_back(double(relay_cycles) / sessions);
        base.push_back(double(bare_cycles) / sessions);
      }
      const double c = Median(relay), bc = Median(base);
      std::printf(
          "  %-24s %-11s %8.1f cycles/packet %6.2f Mpps (min %.1f max %.1f)  bare rx->tx %6.1f "
          "cycles (%.2f of it)\n",
          SrtpSuiteName(suite), mode.name, c, ghz * 1e3 / c,
          *std::min_element(relay.begin(), relay.end()),
          *std::max_element(relay.begin(), relay.end()), bc, bc / c);
      std::printf(
          "{\"suite\":\"%s\",\"mode\":\"%s\",\"sessions\":%u,\"cycles\":%.1f,\"mpps\":%.3f,"
          "\"baseline_cycles\":%.1f}\n",
          SrtpSuiteName(suite), mode.name, sessions, c, ghz * 1e3 / c, bc);
      worker->reset();
      for (auto& sender : senders) factory.Release(&sender);
    }
  }
  return 0;
}
