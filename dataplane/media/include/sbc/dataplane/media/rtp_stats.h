// What a receiver learns from one RTP stream (RFC 3550 §6.4.1, appendix A.8): packets,
// bytes, sequence gaps (packets that never came), and interarrival jitter in RTP
// timestamp units. Pure arithmetic; the caller supplies arrival times in the stream's
// clock rate. One thread updates (the leg's worker); any thread may read the four
// results while it does (each stored whole, shared_field.h).
#pragma once

#include <cstdint>

#include "sbc/dataplane/core/shared_field.h"

namespace sbc::dataplane {

class RtpReceptionStats {
 public:
  // One packet: its sequence number, RTP timestamp and arrival time, the last two in
  // units of the stream's clock (8000 Hz for G.711).
  void Update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival, uint32_t bytes);

  uint64_t packets() const { return LoadShared(packets_); }
  uint64_t bytes() const { return LoadShared(bytes_); }
  // Packets skipped over by a sequence jump (late arrivals do not take them back).
  uint64_t gaps() const { return LoadShared(gaps_); }
  // Interarrival jitter J in timestamp units, as RFC 3550 reports it.
  uint32_t jitter() const { return LoadShared(jitter_q4_) >> 4; }

 private:
  // Read by other threads.
  uint64_t packets_ = 0, bytes_ = 0, gaps_ = 0;
  uint32_t jitter_q4_ = 0;  // J * 16, the RFC's fixed-point form
  // The updating thread's own.
  int32_t last_transit_ = 0;
  uint16_t highest_seq_ = 0;
  bool started_ = false;
};

}  // namespace sbc::dataplane
