// The TCP part of connection tracking: which flag combinations a real segment can
// carry, and how a tracked connection's state moves with each segment. Pure functions,
// any thread; the firewall worker applies them to its own connection table.
//
// We track states, not sequence numbers: endpoints check those themselves (RFC 5961
// for RST), so a RST ends a tracked connection softly (kTcpClosed, the transitory
// timeout, still passing what the endpoints keep sending) instead of deleting it at
// once, and a blind RST cannot cut a connection its endpoints go on using.
#pragma once

#include <cstdint>

#include "sbc/dataplane/core/packet.h"

namespace sbc::dataplane {

enum class FlowState : uint8_t {
  kUdp,
  kIcmp,
  kOther,
  kTcpSynSent,      // the originator's SYN seen
  kTcpSynReceived,  // the responder's SYN-ACK seen
  kTcpEstablished,  // the originator's ACK of the SYN-ACK seen
  kTcpClosing,      // a FIN seen
  kTcpClosed,       // a RST seen
};

inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpUrg = 0x20;
// The six classic flags (ECE and CWR, the ECN bits, are above them).
inline constexpr uint8_t kTcpClassicFlags = 0x3f;

// True for a flag combination some valid segment carries: of FIN, SYN, RST, ACK and
// URG only SYN, SYN+URG, SYN+ACK, RST, RST+ACK, FIN+ACK, FIN+ACK+URG, ACK and ACK+URG,
// each with or without PSH, ECE and CWR. The same set Linux conntrack's TCP tracker
// accepts; everything else (SYN+FIN, SYN+RST, FIN alone, no flags, XMAS) is a probe or
// an evasion attempt and is dropped whatever the connection's state.
[[nodiscard]] constexpr bool ValidTcpFlags(uint8_t flags) noexcept {
  constexpr uint8_t kJudged = kTcpFin | kTcpSyn | kTcpRst | kTcpAck | kTcpUrg;
  switch (flags & kJudged) {
    case kTcpSyn:
    case kTcpSyn | kTcpUrg:
    case kTcpSyn | kTcpAck:
    case kTcpRst:
    case kTcpRst | kTcpAck:
    case kTcpFin | kTcpAck:
    case kTcpFin | kTcpAck | kTcpUrg:
    case kTcpAck:
    case kTcpAck | kTcpUrg:
      return true;
    default:
      return false;
  }
}

// The only segment that opens a connection: SYN and nothing else of the six classic
// flags (the ECN bits may be set).
[[nodiscard]] constexpr bool OpensTcpConnection(uint8_t flags) noexcept {
  return (flags & kTcpClassicFlags) == kTcpSyn;
}

struct TcpStep {
  bool pass = false;  // false: dropped as tcp_no_state
  FlowState next = FlowState::kTcpSynSent;
};

// A segment with ValidTcpFlags() `flags` of a connection in TCP state `state`, sent by
// its originator or by the responder:
// - RST (with or without ACK) from either side: passes, the connection is closed;
// - SYN without ACK from the responder: dropped (the responder answers with SYN-ACK;
//   a SYN of its own would open a connection the rules have not judged);
// - SYN-SENT: from the originator passes (retransmits); from the responder only a
//   SYN-ACK passes, and moves to SYN-RECEIVED;
// - SYN-RECEIVED: the originator's ACK without SYN moves to ESTABLISHED;
// - ESTABLISHED: a FIN moves to CLOSING (so does one that establishes it);
// - CLOSING, CLOSED: an opening SYN from the originator starts the connection again
//   (SYN-SENT: a reused port pair);
// and everything else passes without a change.
[[nodiscard]] TcpStep TrackTcp(FlowState state, bool from_originator, uint8_t flags) noexcept;

[[nodiscard]] constexpr bool IsHalfOpen(FlowState s) noexcept {
  return s == FlowState::kTcpSynSent || s == FlowState::kTcpSynReceived;
}

}  // namespace sbc::dataplane
