// One trial: offer frames at a fixed rate for a while from one port, take what comes
// back on another, then wait for stragglers. Counts sent, expected back and received
// frames, and the latency of what came back (send time stamped by the traffic).
#pragma once

#include <cstdint>
#include <string>

#include "ports.h"
#include "search.h"
#include "traffic.h"

namespace sbc::tools::pktgen {

struct TrialSpec {
  double pps = 1e6;
  double seconds = 1;
  uint16_t tx_port = 0, rx_port = 1;
  double drain_s = 0.05;     // quiet time after the last send before counting ends
  double late_slack = 0.01;  // a share of `seconds` the trial may run over to send all
  bool into_sink = false;    // frames go to a sink: none come back, none are expected
};

struct TrialResult {
  double pps = 0;          // asked for
  double offered_pps = 0;  // sent / seconds
  uint64_t sent = 0, expected = 0, received = 0;
  uint64_t unexpected = 0;  // ours, but the device should have dropped them (denied, malformed)
  uint64_t foreign = 0;     // not ours
  // Frames the port would not take when first offered (its ring full: the device
  // behind it is not keeping up). They wait and go first, as under Ethernet flow
  // control; if the generator cannot catch up, the trial falls short.
  uint64_t refused = 0;
  // Could not offer all frames within late_slack of the trial's time: refused, or the
  // generator itself was held up (nothing refused).
  bool generator_short = false;
  double seconds = 0;
  // Share of the sending time the generator spent working (building, sending,
  // receiving, checking) rather than waiting for its next burst: at this rate it had
  // room for about 1/busy times as much. A device's figure means little where it is
  // near 1.
  double generator_busy = 0;
  double latency_p50_us = 0, latency_p99_us = 0, latency_max_us = 0;
  TrialOutcome outcome() const { return {expected, received, generator_short, refused}; }
};

[[nodiscard]] TrialResult RunTrial(Traffic& traffic, const TrialSpec& spec, const Ports& ports);

[[nodiscard]] std::string ToJson(const TrialResult& r);

}  // namespace sbc::tools::pktgen
