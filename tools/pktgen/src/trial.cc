#include "trial.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace sbc::tools::pktgen {
namespace {

constexpr uint16_t kBurst = 32;
constexpr size_t kMaxSamples = 1 << 21;

}  // namespace

TrialResult RunTrial(Traffic& traffic, const TrialSpec& spec, const Ports& ports) {
  TrialResult r;
  r.pps = spec.pps;
  const uint64_t hz = rte_get_tsc_hz();
  const auto planned = static_cast<uint64_t>(spec.pps * spec.seconds);
  // Every k-th frame back is a latency sample: memory stays bounded at any rate.
  const uint64_t every = std::max<uint64_t>(1, planned / kMaxSamples + 1);
  std::vector<uint64_t> samples;
  samples.reserve(std::min<uint64_t>(planned / every + 16, kMaxSamples + 16));
  uint64_t max_latency = 0;
  const uint16_t tx = ports.ids[spec.tx_port], rx = ports.ids[spec.rx_port];

  auto poll = [&]() {
    rte_mbuf* back[64];
    const uint16_t n = rte_eth_rx_burst(rx, 0, back, 64);
    if (n == 0) return n;
    // After the receive: a kernel path (af_packet) may deliver within the send call.
    const uint64_t now = rte_get_tsc_cycles();
    for (uint16_t i = 0; i < n; ++i) {
      bool wanted = true;
      const uint64_t sent_at = traffic.SentAt(back[i], &wanted);
      if (sent_at == 0 || sent_at > now) {
        ++r.foreign;
        continue;
      }
      if (!wanted) {
        ++r.unexpected;
        continue;
      }
      ++r.received;
      const uint64_t latency = now - sent_at;
      max_latency = std::max(max_latency, latency);
      if (r.received % every == 0 && samples.size() < samples.capacity())
        samples.push_back(latency);
    }
    rte_pktmbuf_free_bulk(back, n);
    return n;
  };

  const double burst_interval = kBurst * static_cast<double>(hz) / spec.pps;
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * static_cast<double>(hz));
  // A generator held up (this machine shares its cores) catches up within the trial,
  // a few bursts at a time; the trial ends when all frames are out, or 1% late.
  const uint64_t deadline = end + (end - start) / 100;
  double next = static_cast<double>(start);
  uint64_t now = start;
  while (r.sent < planned && now < deadline) {
    now = rte_get_tsc_cycles();
    for (int catch_up = 0; catch_up < 8 && static_cast<double>(now) >= next && r.sent < planned;
         ++catch_up) {
      rte_mbuf* burst[kBurst];
      const uint16_t n = static_cast<uint16_t>(std::min<uint64_t>(kBurst, planned - r.sent));
      if (rte_pktmbuf_alloc_bulk(ports.pool, burst, n) != 0) break;
      uint64_t expected = 0;
      for (uint16_t i = 0; i < n; ++i) expected += traffic.Next(burst[i], now);
      const uint16_t sent = rte_eth_tx_burst(tx, 0, burst, n);
      if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
      // Frames the port would not take were never offered: the rate falls short.
      r.sent += sent;
      r.expected += sent == n ? expected : expected * sent / n;
      next += burst_interval;
    }
    poll();
  }
  const uint64_t sending_ended = rte_get_tsc_cycles();
  // Stragglers: until nothing has come for drain_s.
  const auto quiet = static_cast<uint64_t>(spec.drain_s * static_cast<double>(hz));
  uint64_t last = rte_get_tsc_cycles();
  for (uint64_t t = last; t - last < quiet; t = rte_get_tsc_cycles())
    if (poll() != 0) last = t;

  r.seconds = static_cast<double>(std::max(sending_ended, end) - start) / static_cast<double>(hz);
  r.offered_pps = static_cast<double>(r.sent) / r.seconds;
  r.generator_short = r.sent < planned;
  std::sort(samples.begin(), samples.end());
  auto us = [hz](uint64_t cycles) {
    return static_cast<double>(cycles) * 1e6 / static_cast<double>(hz);
  };
  if (!samples.empty()) {
    r.latency_p50_us = us(samples[samples.size() / 2]);
    r.latency_p99_us = us(samples[std::min(samples.size() - 1, samples.size() * 99 / 100)]);
  }
  r.latency_max_us = us(max_latency);
  return r;
}

std::string ToJson(const TrialResult& r) {
  char text[512];
  std::snprintf(text, sizeof text,
                "{\"pps\":%.0f,\"offered_pps\":%.0f,\"seconds\":%.3f,\"sent\":%lu,\"expected\":%lu,"
                "\"received\":%lu,"
                "\"unexpected\":%lu,\"foreign\":%lu,\"generator_short\":%s,\"latency_us\":{\"p50\":"
                "%.2f,\"p99\":%.2f,\"max\":%.2f}}",
                r.pps, r.offered_pps, r.seconds, r.sent, r.expected, r.received, r.unexpected,
                r.foreign, r.generator_short ? "true" : "false", r.latency_p50_us, r.latency_p99_us,
                r.latency_max_us);
  return text;
}

}  // namespace sbc::tools::pktgen
