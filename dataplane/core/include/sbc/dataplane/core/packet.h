// Parsing a received frame into the fields the firewall decides on.
//
// The parser reads headers in place (the first mbuf segment must hold them, as every
// NIC delivers with standard buffer sizes), checks every length against the frame,
// and returns a drop reason for anything malformed or forbidden whatever the rules
// say (martian sources, source routing). Worker thread; allocates nothing.
#pragma once

#include <array>
#include <cstdint>

#include "sbc/dataplane/core/drop_reasons.h"

struct rte_mbuf;

namespace sbc::dataplane {

enum class Family : uint8_t { kNone = 0, kArp = 1, kIpv4 = 4, kIpv6 = 6 };

inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIcmpV6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpAck = 0x10;

// Most IPv6 extension headers walked before the packet is refused.
inline constexpr int kMaxIpv6ExtensionHeaders = 8;

struct PacketMeta {
  Family family = Family::kNone;
  uint8_t protocol = 0;
  uint8_t tcp_flags = 0;
  bool fragment = false;        // any fragment of a larger datagram
  bool later_fragment = false;  // offset != 0: carries no L4 header
  uint8_t hop_limit = 0;        // IPv4 TTL or IPv6 hop limit
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;
  // TCP/UDP ports in host order. ICMP/ICMPv6: src_port = type << 8 | code, and
  // dst_port = echo identifier (echo request/reply), else 0.
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  // Network order; IPv4 uses the first 4 bytes.
  std::array<uint8_t, 16> src{};
  std::array<uint8_t, 16> dst{};
};

// Fills `meta` from `frame`. Returns kNotDropped for a well-formed IPv4/IPv6 packet
// (or ARP frame, family kArp), else the reason to drop it. Worker thread.
[[nodiscard]] DropReason ParseFrame(const rte_mbuf* frame, PacketMeta* meta) noexcept;

}  // namespace sbc::dataplane
