// The 12-byte RTP header (RFC 3550, version 2, no padding, extension or CSRCs, payload
// type 0) that the relay's tests and bench put in front of their payloads.
#pragma once

#include <array>
#include <cstdint>

namespace sbc::testing {

inline std::array<uint8_t, 12> RtpHeader(uint32_t ssrc, uint16_t seq, uint32_t ts) {
  auto byte = [](uint32_t v, int shift) { return static_cast<uint8_t>(v >> shift); };
  return {0x80,        0x00,        byte(seq, 8),   byte(seq, 0),   byte(ts, 24),  byte(ts, 16),
          byte(ts, 8), byte(ts, 0), byte(ssrc, 24), byte(ssrc, 16), byte(ssrc, 8), byte(ssrc, 0)};
}

}  // namespace sbc::testing
