// The SRTP engine's cost per packet on one core: SrtpBatch (header checks, replay
// window, IVs, tags) plus the crypto device (crypto_aesni_mb), for RTP->SRTP,
// SRTP->RTP and SRTP->SRTP (decrypt with one key, encrypt with another), across
// 10,000 streams, 172-byte RTP packets (160-byte payload), bursts of 32. Baseline in
// the same run: the device alone re-running prepared encrypt ops of the same
// suite, with the same prefetch of their sessions (its ceiling on this core). Only the engine calls
// are timed; the harness's own work between them (advancing sequence numbers, making fresh SRTP
// input) is not. No packet I/O here: the relay's end-to-end figure is another bench.
//
//   cmake --preset release && cmake --build --preset release --target srtp_bench
//   build/release/tests/bench/srtp_bench --streams 10000 --rounds 200 --repeats 5
#include <rte_bus_vdev.h>
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_eal.h"
#include "sbc/dataplane/srtp/srtp_batch.h"
#include "sbc/drivers/crypto/crypto_device.h"

namespace {

using namespace sbc::dataplane;
constexpr uint16_t kBurst = 32, kRtpBytes = 12 + 160, kOffset = 42;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "srtp_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Session {
  SrtpStream protect_a, unprotect_a, protect_b;
};

struct Bench {
  uint8_t device;
  rte_mempool* pool;
  SrtpBatch* batch;
  std::vector<Session>* sessions;
  std::vector<rte_mbuf*> packets;  // packet i belongs to session i % sessions
  std::vector<uint16_t> seq;

  Session& Of(size_t i) { return (*sessions)[i % sessions->size()]; }

  // Runs one engine pass over packets [first, first + n) with streams picked by `stream`;
  // returns TSC cycles if `timed`, checking every result.
  template <typename Pick>
  uint64_t Pass(size_t first, uint16_t n, Pick stream, bool timed) {
    SrtpDone done[SrtpBatch::kMaxBurst];
    const uint64_t start = timed ? rte_rdtsc_precise() : 0;
    for (uint16_t k = 0; k < n; ++k)
      if (batch->Add(packets[first + k], kOffset, false, stream(first + k), k) != SrtpResult::kOk)
        Die("refused");
    const uint16_t got = batch->Run(done);
    const uint64_t cycles = timed ? rte_rdtsc_precise() - start : 0;
    for (uint16_t k = 0; k < got; ++k)
      if (done[k].result != SrtpResult::kOk)
        Die(std::string("engine: ") + SrtpResultName(done[k].result));
    return cycles;
  }
  void NextSeq(size_t first, uint16_t n) {
    for (uint16_t k = 0; k < n; ++k) {
      uint8_t* p = rte_pktmbuf_mtod_offset(packets[first + k], uint8_t*, kOffset);
      const uint16_t s = ++seq[first + k];
      p[2] = uint8_t(s >> 8), p[3] = uint8_t(s);
    }
  }
  void TrimTags(size_t first, uint16_t n, uint8_t tag) {
    for (uint16_t k = 0; k < n; ++k) rte_pktmbuf_trim(packets[first + k], tag);
  }
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "SRTP engine cycles per packet on one core, with the crypto device alone as baseline"};
  uint32_t streams = 10000, rounds = 200, repeats = 5;
  app.add_option("--streams", streams, "concurrent sessions (one packet each in flight)");
  app.add_option("--rounds", rounds, "passes over all packets per measurement");
  app.add_option("--repeats", repeats, "measurements per mode; the median is reported");
  CLI11_PARSE(app, argc, argv);

  sbc::bench::InitEal("srtp_bench", 1024);
  if (rte_vdev_init("crypto_aesni_mb_bench", nullptr) != 0) Die("crypto_aesni_mb vdev");
  auto device = sbc::drivers::crypto::CryptoDevice::Open({.name = "crypto_aesni_mb_bench",
                                                          .queue_pairs = 2,
                                                          .sessions = 6 * streams + 64,
                                                          .ops = 1024});
  if (!device) Die(device.error());
  rte_mempool* pool =
      rte_pktmbuf_pool_create("bench_mbufs", streams + 1024, 256, 0, RTE_PKTMBUF_HEADROOM + 512, 0);
  if (pool == nullptr) Die("mbuf pool");
  SrtpStreamFactory factory((*device)->id(), 1, (*device)->session_pool(), (*device)->op_pool());
  SrtpBatch batch((*device)->id(), 0, (*device)->op_pool(), (*device)->session_pool());
  const double ghz = double(rte_get_tsc_hz()) / 1e9;
  std::printf(
      "srtp_bench: %u streams, %u-byte RTP (160-byte payload), bursts of %u, 1 core, TSC %.2f GHz; "
      "crypto session private data %u bytes, SrtpStream %zu bytes\n",
      streams, kRtpBytes, kBurst, ghz, (*device)->session_bytes(), sizeof(SrtpStream));

  std::mt19937 rng(5);
  for (SrtpSuite suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm}) {
    std::vector<Session> sessions(streams);
    for (auto& s : sessions) {
      SrtpMasterKey a, b;
      a.suite = b.suite = suite;
      for (auto& x : a.key) x = uint8_t(rng());
      for (auto& x : a.salt) x = uint8_t(rng());
      for (auto& x : b.key) x = uint8_t(rng());
      for (auto& x : b.salt) x = uint8_t(rng());
      auto ka = factory.Derive(a), kb = factory.Derive(b);
      if (!ka || !kb) Die("key derivation");
      if (!factory.Build(*ka, SrtpDirection::kProtect, &s.protect_a) ||
          !factory.Build(*ka, SrtpDirection::kUnprotect, &s.unprotect_a) ||
          !factory.Build(*kb, SrtpDirection::kProtect, &s.protect_b))
        Die("sessions");
    }
    Bench bench{(*device)->id(), pool, &batch, &sessions, {}, {}};
    for (uint32_t i = 0; i < streams; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kOffset + kRtpBytes));
      std::memset(p, 0, kOffset);
      uint8_t* rtp = p + kOffset;
      rtp[0] = 0x80, rtp[1] = 0;
      const uint32_t ssrc = 0x10000000u + i;
      rtp[8] = uint8_t(ssrc >> 24), rtp[9] = uint8_t(ssrc >> 16), rtp[10] = uint8_t(ssrc >> 8),
      rtp[11] = uint8_t(ssrc);
      for (int k = 12; k < kRtpBytes; ++k) rtp[k] = uint8_t(rng());
      bench.packets.push_back(m);
      bench.seq.push_back(0);
    }
    const uint8_t tag = SizesOf(suite).rtp_tag;
    auto protect_a = [&](size_t i) { return &bench.Of(i).protect_a; };
    auto unprotect_a = [&](size_t i) { return &bench.Of(i).unprotect_a; };
    auto protect_b = [&](size_t i) { return &bench.Of(i).protect_b; };

    std::vector<double> rtp_to_srtp, srtp_to_rtp, srtp_to_srtp, device_only;
    for (uint32_t r = 0; r < repeats; ++r) {
      uint64_t c1 = 0, c2 = 0, c3 = 0, n = 0;
      for (uint32_t round = 0; round < rounds; ++round) {
        for (size_t first = 0; first < streams; first += kBurst) {
          const uint16_t k = uint16_t(std::min<size_t>(kBurst, streams - first));
          bench.NextSeq(first, k);
          c1 += bench.Pass(first, k, protect_a, true);    // RTP -> SRTP
          c2 += bench.Pass(first, k, unprotect_a, true);  // SRTP -> RTP
          bench.NextSeq(first, k);
          bench.Pass(first, k, protect_a, false);         // fresh SRTP input, untimed
          c3 += bench.Pass(first, k, unprotect_a, true);  // SRTP -> SRTP: decrypt A ...
          c3 += bench.Pass(first, k, protect_b, true);    // ... encrypt B
          bench.TrimTags(first, k, tag);                  // back to plain length for the next round
          n += k;
        }
      }
      rtp_to_srtp.push_back(double(c1) / double(n));
      srtp_to_rtp.push_back(double(c2) / double(n));
      srtp_to_srtp.push_back(double(c3) / double(n));

      // Baseline: the device alone, re-running prepared protect ops (no engine work).
      std::vector<rte_crypto_op*> ops(kBurst);
      uint64_t cd = 0, nd = 0;
      for (uint32_t round = 0; round < rounds; ++round) {
        for (size_t first = 0; first + kBurst <= streams; first += kBurst) {
          if (rte_crypto_op_bulk_alloc((*device)->op_pool(), RTE_CRYPTO_OP_TYPE_SYMMETRIC,
                                       ops.data(), kBurst) != kBurst)
            Die("ops");
          for (uint16_t k = 0; k < kBurst; ++k) {
            rte_crypto_op* op = ops[k];
            Session& s = bench.Of(first + k);
            rte_crypto_op_attach_sym_session(op, s.protect_a.rtp_sessions[0].session);
            op->sym->m_src = bench.packets[first + k];
            uint8_t* iv = rte_crypto_op_ctod_offset(op, uint8_t*, sbc::drivers::crypto::IvOffset());
            std::memset(iv, 0x5a, 16);
            if (SizesOf(suite).aead) {
              op->sym->aead.data = {uint32_t(kOffset + 12), uint32_t(kRtpBytes - 12)};
              op->sym->aead.digest.data = iv + 32;
              op->sym->aead.aad.data = iv + 64;
            } else {
              op->sym->cipher.data = {uint32_t(kOffset + 12), uint32_t(kRtpBytes - 12)};
              op->sym->auth.data = {uint32_t(kOffset), uint32_t(kRtpBytes + 4)};
              op->sym->auth.digest.data = iv + 32;
            }
          }
          const uint64_t start = rte_rdtsc_precise();
          // As the engine does: the burst's sessions are asked for up front.
          const uint32_t lines =
              std::min<uint32_t>(32, ((*device)->session_pool()->elt_size + 63) / 64);
          for (rte_crypto_op* op : ops)
            for (uint32_t l = 0; l < lines; ++l)
              rte_prefetch0(static_cast<const char*>(op->sym->session) + 64 * l);
          uint16_t sent = 0, got = 0;
          while (sent < kBurst)
            sent +=
                rte_cryptodev_enqueue_burst((*device)->id(), 0, ops.data() + sent, kBurst - sent);
          std::vector<rte_crypto_op*> back(kBurst);
          while (got < kBurst)
            got += rte_cryptodev_dequeue_burst((*device)->id(), 0, back.data() + got, kBurst - got);
          cd += rte_rdtsc_precise() - start;
          nd += kBurst;
          for (rte_crypto_op* op : back) rte_crypto_op_free(op);
        }
      }
      device_only.push_back(double(cd) / double(nd));
    }
    const double base = Median(device_only);
    auto line = [&](const char* mode, const std::vector<double>& v) {
      const double c = Median(v);
      std::printf(
          "  %-24s %-22s %8.1f cycles/packet %7.2f Mpps  (min %.1f max %.1f; %.2fx the device "
          "alone)\n",
          SrtpSuiteName(suite), mode, c, ghz * 1e3 / c, *std::min_element(v.begin(), v.end()),
          *std::max_element(v.begin(), v.end()), c / base);
    };
    std::printf("  %-24s %-22s %8.1f cycles/packet %7.2f Mpps\n", SrtpSuiteName(suite),
                "device alone (encrypt)", base, ghz * 1e3 / base);
    line("RTP->SRTP", rtp_to_srtp);
    line("SRTP->RTP", srtp_to_rtp);
    line("SRTP->SRTP", srtp_to_srtp);
    for (auto& s : sessions) {
      factory.Release(&s.protect_a);
      factory.Release(&s.unprotect_a);
      factory.Release(&s.protect_b);
    }
    for (rte_mbuf* m : bench.packets) rte_pktmbuf_free(m);
  }
  return 0;
}
