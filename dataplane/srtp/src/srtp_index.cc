#include "sbc/dataplane/srtp/srtp_index.h"

namespace sbc::dataplane {

std::optional<uint64_t> PacketIndexWindow::EstimateRtp(uint16_t seq) const {
  if (!started_) return (uint64_t{initial_roc_} << 16) | seq;
  const uint64_t roc = highest_ >> 16;
  const uint32_t s_l = static_cast<uint32_t>(highest_ & 0xffff);
  uint64_t v = roc;
  // RFC 3711 appendix A: pick the ROC that puts seq nearest the highest index.
  if (s_l < 32768) {
    if (seq > s_l && seq - s_l > 32768) {
      if (roc == 0) return std::nullopt;
      v = roc - 1;
    }
  } else if (seq < s_l - 32768) {
    v = roc + 1;
    if (v > 0xffff'ffffull) return std::nullopt;  // the 2^48 index space is spent: rekey
  }
  return (v << 16) | seq;
}

IndexVerdict PacketIndexWindow::Check(uint64_t index) const {
  if (!started_ || index > highest_) return IndexVerdict::kFresh;
  const uint64_t behind = highest_ - index;
  if (behind >= kWindow) return IndexVerdict::kTooOld;
  return (seen_ >> behind) & 1 ? IndexVerdict::kReplayed : IndexVerdict::kFresh;
}

void PacketIndexWindow::Commit(uint64_t index) {
  if (!started_) {
    started_ = true;
    highest_ = index;
    seen_ = 1;
  } else if (index > highest_) {
    const uint64_t ahead = index - highest_;
    seen_ = ahead >= kWindow ? 1 : (seen_ << ahead) | 1;
    highest_ = index;
  } else if (highest_ - index < kWindow) {
    seen_ |= uint64_t{1} << (highest_ - index);
  }
}

void PacketIndexWindow::Reset(uint32_t initial_roc) {
  *this = PacketIndexWindow();
  initial_roc_ = initial_roc;
}

}  // namespace sbc::dataplane
