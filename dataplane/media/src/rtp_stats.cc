#include "sbc/dataplane/media/rtp_stats.h"

namespace sbc::dataplane {

void RtpReceptionStats::Update(uint16_t seq, uint32_t rtp_timestamp, uint32_t arrival,
                               uint32_t bytes) {
  AddShared(packets_);
  AddShared(bytes_, bytes);
  const int32_t transit = static_cast<int32_t>(arrival - rtp_timestamp);
  if (!started_) {
    started_ = true;
    highest_seq_ = seq;
    last_transit_ = transit;
    return;
  }
  const uint16_t ahead = static_cast<uint16_t>(seq - highest_seq_);
  if (ahead != 0 && ahead < 0x8000) {  // newer: anything skipped is a gap
    AddShared(gaps_, ahead - 1u);
    highest_seq_ = seq;
  }
  // RFC 3550 A.8: J += (|D| - J) / 16, kept scaled by 16.
  int32_t d = transit - last_transit_;
  last_transit_ = transit;
  if (d < 0) d = -d;
  StoreShared(jitter_q4_, jitter_q4_ + static_cast<uint32_t>(d) - ((jitter_q4_ + 8) >> 4));
}

}  // namespace sbc::dataplane
