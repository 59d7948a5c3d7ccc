#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

#include "sbc/dataplane/core/packet.h"

namespace sbc::dataplane {
namespace {

constexpr uint8_t kIpv4OptEnd = 0;
constexpr uint8_t kIpv4OptNop = 1;
constexpr uint8_t kIpv4OptLsrr = 131;
constexpr uint8_t kIpv4OptSsrr = 137;

constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6DestOptions = 60;

uint16_t Load16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Martian IPv4 sources, dropped whatever the rules say.
DropReason CheckIpv4Source(const uint8_t* a) {
  if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return DropReason::kSourceBroadcast;
  if ((a[0] & 0xf0) == 224) return DropReason::kSourceMulticast;
  if (a[0] == 127) return DropReason::kSourceLoopback;
  if (a[0] == 0) return DropReason::kSourceUnspecified;
  if ((a[0] & 0xf0) == 240) return DropReason::kSourceReserved;
  return kNotDropped;
}

DropReason CheckIpv6Source(const uint8_t* a) {
  if (a[0] == 0xff) return DropReason::kSourceMulticast;
  static constexpr uint8_t kZero[15] = {};
  if (std::memcmp(a, kZero, 15) == 0) {
    if (a[15] == 1) return DropReason::kSourceLoopback;
    if (a[15] == 0) return DropReason::kSourceUnspecified;
  }
  return kNotDropped;
}

// IPv4 options: every length within the header, no source routing.
DropReason CheckIpv4Options(const uint8_t* opt, uint32_t len) {
  uint32_t i = 0;
  while (i < len) {
    const uint8_t type = opt[i];
    if (type == kIpv4OptEnd) break;
    if (type == kIpv4OptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len) return DropReason::kBadIpv4Options;
    if (type == kIpv4OptLsrr || type == kIpv4OptSsrr) return DropReason::kSourceRoute;
    i += opt[i + 1];
  }
  return kNotDropped;
}

// L4 header at data[off, end): ports, flags, ICMP type/code/id.
DropReason ParseL4(const uint8_t* data, uint32_t off, uint32_t end, PacketMeta* meta) {
  const uint32_t avail = end - off;
  const uint8_t* l4 = data + off;
  switch (meta->protocol) {
    case kProtoUdp: {
      if (avail < 8) return DropReason::kTruncatedL4;
      const uint16_t udp_len = Load16(l4 + 4);
      if (udp_len < 8 || (!meta->fragment && udp_len > avail)) return DropReason::kBadUdpLength;
      meta->src_port = Load16(l4);
      meta->dst_port = Load16(l4 + 2);
      return kNotDropped;
    }
    case kProtoTcp: {
      if (avail < 20) return DropReason::kTruncatedL4;
      const uint32_t data_offset = (l4[12] >> 4) * 4u;
      if (data_offset < 20 || data_offset > avail) return DropReason::kBadTcpHeader;
      meta->src_port = Load16(l4);
      meta->dst_port = Load16(l4 + 2);
      meta->tcp_flags = l4[13];
      return kNotDropped;
    }
    case kProtoIcmp:
    case kProtoIcmpV6: {
      if (avail < 4) return DropReason::kTruncatedL4;
      const uint8_t type = l4[0];
      meta->src_port = static_cast<uint16_t>(type << 8 | l4[1]);
      const bool echo =
          meta->protocol == kProtoIcmp ? (type == 8 || type == 0) : (type == 128 || type == 129);
      if (echo) {
        if (avail < 8) return DropReason::kTruncatedL4;
        meta->dst_port = Load16(l4 + 4);
      }
      return kNotDropped;
    }
    default:
      return kNotDropped;  // other protocols: addresses only
  }
}

DropReason ParseIpv4(const uint8_t* data, uint32_t off, uint32_t len, PacketMeta* meta) {
  if (len - off < sizeof(rte_ipv4_hdr)) return DropReason::kTruncatedIpv4;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 4) return DropReason::kBadIpVersion;
  const uint32_t ihl = (ip[0] & 0x0f) * 4u;
  if (ihl < 20) return DropReason::kBadIpv4HeaderLength;
  if (ihl > len - off) return DropReason::kTruncatedIpv4;
  const uint16_t total = Load16(ip + 2);
  if (total < ihl || total > len - off) return DropReason::kBadIpv4TotalLength;
  if (ip[8] == 0) return DropReason::kTtlZero;
  if (ihl > 20)
    if (DropReason r = CheckIpv4Options(ip + 20, ihl - 20); r != kNotDropped) return r;
  std::memcpy(meta->src.data(), ip + 12, 4);
  std::memcpy(meta->dst.data(), ip + 16, 4);
  if (DropReason r = CheckIpv4Source(ip + 12); r != kNotDropped) return r;

  meta->family = Family::kIpv4;
  meta->protocol = ip[9];
  meta->hop_limit = ip[8];
  meta->l3_offset = static_cast<uint16_t>(off);
  meta->l4_offset = static_cast<uint16_t>(off + ihl);
  const uint16_t frag = Load16(ip + 6);
  const uint16_t offset = frag & RTE_IPV4_HDR_OFFSET_MASK;
  meta->fragment = offset != 0 || (frag & RTE_IPV4_HDR_MF_FLAG) != 0;
  meta->later_fragment = offset != 0;
  if (meta->later_fragment) return kNotDropped;
  return ParseL4(data, off + ihl, off + total, meta);
}

DropReason ParseIpv6(const uint8_t* data, uint32_t off, uint32_t len, PacketMeta* meta) {
  if (len - off < sizeof(rte_ipv6_hdr)) return DropReason::kTruncatedIpv6;
  const uint8_t* ip = data + off;
  if ((ip[0] >> 4) != 6) return DropReason::kBadIpVersion;
  const uint16_t payload = Load16(ip + 4);
  const uint32_t end = off + sizeof(rte_ipv6_hdr) + payload;
  // A zero payload length means a jumbogram, which no data port of ours carries.
  if (payload == 0 || end > len) return DropReason::kBadIpv6PayloadLength;
  if (ip[7] == 0) return DropReason::kTtlZero;
  std::memcpy(meta->src.data(), ip + 8, 16);
  std::memcpy(meta->dst.data(), ip + 24, 16);
  if (DropReason r = CheckIpv6Source(ip + 8); r != kNotDropped) return r;

  meta->family = Family::kIpv6;
  meta->hop_limit = ip[7];
  meta->l3_offset = static_cast<uint16_t>(off);
  uint8_t next = ip[6];
  uint32_t cursor = off + sizeof(rte_ipv6_hdr);
  for (int walked = 0;; ++walked) {
    if (next != kIpv6HopByHop && next != kIpv6Routing && next != kIpv6Fragment &&
        next != kIpv6DestOptions)
      break;
    if (walked == kMaxIpv6ExtensionHeaders) return DropReason::kIpv6ExtensionChain;
    if (end - cursor < 8) return DropReason::kTruncatedIpv6;
    const uint8_t* ext = data + cursor;
    uint32_t ext_len = (ext[1] + 1u) * 8u;
    if (next == kIpv6Fragment) {
      ext_len = 8;
      const uint16_t frag = Load16(ext + 2);
      meta->fragment = true;
      meta->later_fragment = (frag & 0xfff8) != 0;
    } else if (next == kIpv6Routing && ext[2] == 0) {
      return DropReason::kSourceRoute;  // RH0, deprecated by RFC 5095
    }
    if (ext_len > end - cursor) return DropReason::kTruncatedIpv6;
    next = ext[0];
    cursor += ext_len;
  }
  meta->protocol = next;
  meta->l4_offset = static_cast<uint16_t>(cursor);
  if (meta->later_fragment) return kNotDropped;
  return ParseL4(data, cursor, end, meta);
}

}  // namespace

DropReason ParseFrame(const rte_mbuf* frame, PacketMeta* meta) noexcept {
  *meta = PacketMeta{};
  const auto* data = rte_pktmbuf_mtod(frame, const uint8_t*);
  const uint32_t len = frame->data_len;  // headers must sit in the first segment
  if (len < RTE_ETHER_HDR_LEN) return DropReason::kRuntFrame;
  uint16_t ether_type = Load16(data + 12);
  uint32_t off = RTE_ETHER_HDR_LEN;
  if (ether_type == RTE_ETHER_TYPE_VLAN || ether_type == RTE_ETHER_TYPE_QINQ) {
    if (len < off + 4) return DropReason::kTruncatedVlan;
    ether_type = Load16(data + off + 2);
    off += 4;
    if (ether_type == RTE_ETHER_TYPE_VLAN || ether_type == RTE_ETHER_TYPE_QINQ)
      return DropReason::kNestedVlan;
  }
  meta->l3_offset = static_cast<uint16_t>(off);
  switch (ether_type) {
    case RTE_ETHER_TYPE_IPV4:
      return ParseIpv4(data, off, len, meta);
    case RTE_ETHER_TYPE_IPV6:
      return ParseIpv6(data, off, len, meta);
    case RTE_ETHER_TYPE_ARP:
      meta->family = Family::kArp;
      return kNotDropped;
    default:
      return DropReason::kNonIp;
  }
}

}  // namespace sbc::dataplane
