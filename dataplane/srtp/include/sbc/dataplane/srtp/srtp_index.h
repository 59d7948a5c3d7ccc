// Where a packet falls in its SRTP stream: the 48-bit packet index of SRTP, estimated
// from the 16-bit sequence number and the rollover counter (RFC 3711 §3.3.1 and
// appendix A), or the 31-bit SRTCP index, and a 64-packet replay window behind the
// highest index seen (§3.3.2). Used by both directions: a receiver refuses replays,
// a sender refuses to encrypt two packets under one index (keystream reuse).
//
// Check() before the crypto, Commit() only after the packet authenticated, so a
// forged packet never moves the window or the rollover counter.
#pragma once

#include <cstdint>
#include <optional>

namespace sbc::dataplane {

enum class IndexVerdict : uint8_t { kFresh, kReplayed, kTooOld };

class PacketIndexWindow {
 public:
  static constexpr uint64_t kWindow = 64;

  // SRTP: the index of `seq` closest to the highest index seen (none yet: ROC 0, or
  // the initial ROC signalling gave). nullopt when that would be before index 0 (a
  // late packet from before the stream began here): too old.
  [[nodiscard]] std::optional<uint64_t> EstimateRtp(uint16_t seq) const;
  [[nodiscard]] IndexVerdict Check(uint64_t index) const;
  void Commit(uint64_t index);
  // Forgets everything (a new SSRC); `initial_roc` for SRTP streams that start late.
  void Reset(uint32_t initial_roc = 0);

  bool started() const { return started_; }
  uint64_t highest() const { return highest_; }
  uint32_t roc() const { return static_cast<uint32_t>(highest_ >> 16); }

 private:
  uint64_t highest_ = 0;
  uint64_t seen_ = 0;  // bit i: index highest_ - i has been accepted
  uint32_t initial_roc_ = 0;
  bool started_ = false;
};

}  // namespace sbc::dataplane
