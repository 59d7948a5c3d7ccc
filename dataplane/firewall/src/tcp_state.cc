#include "sbc/dataplane/firewall/tcp_state.h"

namespace sbc::dataplane {

TcpStep TrackTcp(FlowState state, bool from_originator, uint8_t flags) noexcept {
  if (flags & kTcpRst) return {.pass = true, .next = FlowState::kTcpClosed};
  const bool syn_without_ack = (flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
  if (syn_without_ack && !from_originator) return {.pass = false, .next = state};
  switch (state) {
    case FlowState::kTcpSynSent:
      if (from_originator) return {.pass = true, .next = state};
      if ((flags & (kTcpSyn | kTcpAck)) == (kTcpSyn | kTcpAck))
        return {.pass = true, .next = FlowState::kTcpSynReceived};
      return {.pass = false, .next = state};  // the responder speaks before its SYN-ACK
    case FlowState::kTcpSynReceived:
      if (from_originator && (flags & kTcpAck) && !(flags & kTcpSyn))
        return {.pass = true,
                .next = (flags & kTcpFin) ? FlowState::kTcpClosing : FlowState::kTcpEstablished};
      return {.pass = true, .next = state};
    case FlowState::kTcpEstablished:
      return {.pass = true, .next = (flags & kTcpFin) ? FlowState::kTcpClosing : state};
    case FlowState::kTcpClosing:
    case FlowState::kTcpClosed:
      if (from_originator && OpensTcpConnection(flags))
        return {.pass = true, .next = FlowState::kTcpSynSent};
      return {.pass = true, .next = state};
    default:
      return {.pass = true, .next = state};
  }
}

}  // namespace sbc::dataplane
