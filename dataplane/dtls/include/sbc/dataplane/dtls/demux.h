// What arrives on a relay port of a DTLS-SRTP leg, told apart by its first byte
// (RFC 7983, section 7): STUN for the ICE checks, DTLS for the handshake, RTP and RTCP
// (SRTP and SRTCP once keyed) for the media. Everything else (ZRTP, TURN channels,
// QUIC) has no place on our relay ports and is dropped, counted.
#pragma once

#include <cstdint>

namespace sbc::dataplane {

enum class RelayPayload : uint8_t {
  kStun,   // 0-3: a STUN message (an ICE connectivity check)
  kDtls,   // 20-63: a DTLS record (the handshake, or an alert)
  kMedia,  // 128-191: RTP or RTCP, plain or protected
  kOther,  // anything else: not ours to relay or answer
};

// Any thread; a pure function of the payload's first byte.
constexpr RelayPayload ClassifyRelayPayload(uint8_t first_byte) noexcept {
  if (first_byte <= 3) return RelayPayload::kStun;
  if (first_byte >= 20 && first_byte <= 63) return RelayPayload::kDtls;
  if (first_byte >= 128 && first_byte <= 191) return RelayPayload::kMedia;
  return RelayPayload::kOther;
}

}  // namespace sbc::dataplane
