#include "trial.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

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
  uint64_t until_sample = every;
  std::vector<uint64_t> samples;
  samples.reserve(std::min<uint64_t>(planned / every + 16, kMaxSamples + 16));
  uint64_t max_latency = 0;
  const uint16_t tx = ports.ids[spec.tx_port], rx = ports.ids[spec.rx_port];

  // What came back: counted, its latency taken. Returns how many frames.
  auto poll = [&]() {
    rte_mbuf* back[64];
    const uint16_t n = rte_eth_rx_burst(rx, 0, back, 64);
    if (n == 0) return n;
    // After the receive: a kernel path (af_packet) may deliver within the send call.
    const uint64_t now = rte_get_tsc_cycles();
    for (uint16_t i = 0; i < n; ++i) {
      if (i + 4 < n) rte_prefetch0(rte_pktmbuf_mtod(back[i + 4], void*));
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
      if (--until_sample == 0) {
        until_sample = every;
        if (samples.size() < samples.capacity()) samples.push_back(latency);
      }
    }
    rte_pktmbuf_free_bulk(back, n);
    return n;
  };

  const double burst_interval = kBurst * static_cast<double>(hz) / spec.pps;
  const uint64_t start = rte_get_tsc_cycles();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * static_cast<double>(hz));
  // A generator held up (this machine shares its cores) catches up within the trial,
  // a few bursts at a time; the trial ends when all frames are out, or late_slack late.
  const uint64_t deadline =
      end + static_cast<uint64_t>(static_cast<double>(end - start) * spec.late_slack);
  double next = static_cast<double>(start);
  uint64_t now = start, busy = 0, built = 0;
  // A burst the port would not take whole (its ring full: the device behind it is
  // not keeping up) waits here and goes before anything new, as with Ethernet flow
  // control: a device that cannot take the rate shows as frames refused and a
  // generator that falls behind, not as frames built and thrown away.
  rte_mbuf* burst[kBurst];
  uint16_t burst_from = 0, burst_to = 0;
  uint32_t burst_expected = 0;
  while ((built < planned || burst_from < burst_to) && now < deadline) {
    now = rte_get_tsc_cycles();
    bool worked = false;
    for (int catch_up = 0; catch_up < 8; ++catch_up) {
      const bool fresh = burst_from == burst_to;
      if (fresh) {
        if (static_cast<double>(now) < next || built >= planned) break;
        const auto n = static_cast<uint16_t>(std::min<uint64_t>(kBurst, planned - built));
        if (rte_pktmbuf_alloc_bulk(ports.pool, burst, n) != 0) break;
        const uint32_t back = traffic.NextBurst(burst, n, now);
        burst_expected = spec.into_sink ? 0 : back;
        burst_from = 0;
        burst_to = n;
        built += n;
        next += burst_interval;
      }
      const uint16_t sent = rte_eth_tx_burst(tx, 0, burst + burst_from, burst_to - burst_from);
      // Knocking on a full ring is waiting for the device, not work of the generator's.
      worked |= fresh || sent != 0;
      burst_from += sent;
      r.sent += sent;
      if (burst_from < burst_to) {
        if (fresh) r.refused += burst_to - burst_from;
        break;
      }
      r.expected += burst_expected;
    }
    worked |= poll() != 0;
    // A pass that sent or received anything counts as work whole, its empty polls
    // too: the share errs toward busy.
    if (worked) busy += rte_get_tsc_cycles() - now;
  }
  if (burst_from < burst_to) {  // out of time: what went of the last burst
    r.expected += uint64_t{burst_expected} * burst_from / burst_to;
    rte_pktmbuf_free_bulk(burst + burst_from, burst_to - burst_from);
  }
  const uint64_t sending_ended = rte_get_tsc_cycles();
  r.generator_busy =
      static_cast<double>(busy) / static_cast<double>(std::max<uint64_t>(1, sending_ended - start));
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
                "\"unexpected\":%lu,\"foreign\":%lu,\"refused\":%lu,\"generator_short\":%s,"
                "\"generator_busy\":%.3f,\"latency_us\":{\"p50\":%.2f,\"p99\":%.2f,\"max\":%.2f}}",
                r.pps, r.offered_pps, r.seconds, r.sent, r.expected, r.received, r.unexpected,
                r.foreign, r.refused, r.generator_short ? "true" : "false", r.generator_busy,
                r.latency_p50_us, r.latency_p99_us, r.latency_max_us);
  return text;
}

}  // namespace sbc::tools::pktgen
