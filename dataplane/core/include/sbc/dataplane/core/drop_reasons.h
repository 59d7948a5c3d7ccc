// Every reason the dataplane drops a packet, declared once. The X-macro generates the
// enum, the counter slots and the names operators see, so a new reason cannot be
// counted without also being named.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace sbc::dataplane {

// X(enumerator, name shown in counters, what it means)
#define SBC_DROP_REASONS(X)                                                                      \
  X(kRuntFrame, "runt_frame", "frame shorter than an Ethernet header")                           \
  X(kTruncatedVlan, "truncated_vlan", "802.1Q tag cut short")                                    \
  X(kNestedVlan, "nested_vlan", "more than one VLAN tag")                                        \
  X(kNonIp, "non_ip", "EtherType neither IPv4, IPv6 nor ARP")                                    \
  X(kTruncatedIpv4, "truncated_ipv4", "IPv4 header cut short")                                   \
  X(kBadIpVersion, "bad_ip_version", "IP version field disagrees with the EtherType")            \
  X(kBadIpv4HeaderLength, "bad_ipv4_ihl", "IPv4 IHL below 5")                                    \
  X(kBadIpv4TotalLength, "bad_ipv4_total_length",                                                \
    "IPv4 total length beyond the frame or below the header")                                    \
  X(kBadIpv4Options, "bad_ipv4_options", "malformed IPv4 options")                               \
  X(kSourceRoute, "source_route", "IPv4 source-route option or IPv6 type 0 routing header")      \
  X(kTtlZero, "ttl_zero", "TTL or hop limit 0")                                                  \
  X(kTruncatedIpv6, "truncated_ipv6", "IPv6 header or extension header cut short")               \
  X(kBadIpv6PayloadLength, "bad_ipv6_payload_length",                                            \
    "IPv6 payload length beyond the frame or zero")                                              \
  X(kIpv6ExtensionChain, "ipv6_extension_chain", "more IPv6 extension headers than allowed")     \
  X(kTruncatedL4, "truncated_l4", "UDP, TCP or ICMP header cut short")                           \
  X(kBadUdpLength, "bad_udp_length", "UDP length zero, below 8 or beyond the packet")            \
  X(kBadTcpHeader, "bad_tcp_header", "TCP data offset below 5 or beyond the packet")             \
  X(kSourceBroadcast, "source_broadcast", "source address is broadcast")                         \
  X(kSourceMulticast, "source_multicast", "source address is multicast")                         \
  X(kSourceLoopback, "source_loopback", "source address is loopback")                            \
  X(kSourceUnspecified, "source_unspecified", "source address in 0.0.0.0/8 or ::")               \
  X(kSourceReserved, "source_reserved", "source address in 240.0.0.0/4")                         \
  X(kSpoofedSource, "spoofed_source", "source not in the ingress zone's prefix sets")            \
  X(kNoRuleSet, "no_rule_set", "no verified rule set loaded: fail closed")                       \
  X(kPortWithoutZone, "port_without_zone", "ingress or egress port is in no zone")               \
  X(kDenied, "denied", "no rule allows it (default deny)")                                       \
  X(kFragment, "fragment", "non-first fragment that no rule allows")                             \
  X(kTcpNoState, "tcp_no_state", "TCP packet other than SYN with no connection")                 \
  X(kTcpBadFlags, "tcp_bad_flags",                                                               \
    "TCP flags no valid segment carries (SYN+FIN, none, XMAS, ...)")                             \
  X(kRateLimited, "rate_limited", "over its rule's rate limit")                                  \
  X(kSourceFlood, "source_flood", "source opens new flows faster than allowed")                  \
  X(kHalfOpenLimit, "half_open_limit", "too many half-open TCP connections")                     \
  X(kSourceHalfOpenLimit, "source_half_open_limit",                                              \
    "source has its maximum of half-open TCP connections")                                       \
  X(kSourceFlowLimit, "source_flow_limit", "source has its maximum number of flows")             \
  X(kFlowTableFull, "flow_table_full", "connection table full")                                  \
  X(kResolutionLimited, "resolution_limited",                                                    \
    "ARP/neighbour solicitation for our address over its rate")                                  \
  X(kEchoLimited, "echo_limited", "echo request to our address over its rate")                   \
  X(kNdNotFromLink, "nd_not_from_link",                                                          \
    "neighbour/router discovery with a hop limit below 255 (RFC 4861)")                          \
  X(kTxQueueFull, "tx_queue_full", "the egress port's transmit queue had no room")               \
  X(kMediaNoSession, "media_no_session", "to a relay port no media session holds")               \
  X(kMediaWrongSource, "media_wrong_source", "media from other than the leg's (latched) remote") \
  X(kMediaNotRtp, "media_not_rtp", "on a relay port, but not RTP/RTCP version 2")                \
  X(kMediaFragment, "media_fragment", "IP fragment to a relay port (media is never fragmented)") \
  X(kMediaBadLength, "media_bad_length",                                                         \
    "to a relay port, with a UDP length the frame does not hold")                                \
  X(kMediaOtherWorker, "media_other_worker",                                                     \
    "for a session another worker owns, which could not take it")                                \
  X(kMediaAuthFailed, "media_auth_failed", "SRTP/SRTCP that did not authenticate")               \
  X(kMediaReplayed, "media_replayed", "SRTP/SRTCP index seen before or too old")                 \
  X(kMediaCrypto, "media_crypto", "SRTP could not be applied (no room, device, index space)")    \
  X(kMediaCryptoLost, "media_crypto_lost",                                                       \
    "the crypto device kept it past the bound (freed if it comes back)")                         \
  X(kMediaLegNotReady, "media_leg_not_ready",                                                    \
    "the other leg's remote or link address is not known yet")

enum class DropReason : uint8_t {
#define SBC_DROP_REASON_ENUM(id, name, help) id,
  SBC_DROP_REASONS(SBC_DROP_REASON_ENUM)
#undef SBC_DROP_REASON_ENUM
};

inline constexpr size_t kDropReasonCount = 0
// NOLINTNEXTLINE(bugprone-macro-parentheses): each expansion is one term of the sum
#define SBC_DROP_REASON_COUNT(id, name, help) +1
    SBC_DROP_REASONS(SBC_DROP_REASON_COUNT)
#undef SBC_DROP_REASON_COUNT
    ;

// Not a reason: what stages return for a packet they let through.
inline constexpr DropReason kNotDropped = static_cast<DropReason>(kDropReasonCount);

// The counter name, e.g. "runt_frame" ("not_dropped" for kNotDropped). Any thread.
[[nodiscard]] std::string_view DropReasonName(DropReason reason);
// One line for operators, e.g. "frame shorter than an Ethernet header". Any thread.
[[nodiscard]] std::string_view DropReasonHelp(DropReason reason);

// Its name, for test output (GoogleTest finds PrintTo by argument-dependent lookup).
void PrintTo(DropReason reason, std::ostream* os);

}  // namespace sbc::dataplane
