#include "sbc/dataplane/firewall/own_address.h"

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>

namespace sbc::dataplane {
namespace {

constexpr uint8_t kIcmpEchoRequest = 8, kIcmpEchoReply = 0;
constexpr uint8_t kIcmpV6EchoRequest = 128, kIcmpV6EchoReply = 129;
constexpr uint8_t kRouterSolicit = 133, kNeighbourSolicit = 135, kNeighbourAdvert = 136,
                  kRedirect = 137;
constexpr uint8_t kNdOptTargetLinkAddr = 2;
constexpr uint8_t kNaSolicited = 0x40, kNaOverride = 0x20;
constexpr uint32_t kNaLength = 24 + 8;  // header + target link-layer option

bool Listed(std::span<const IpPrefix> addresses, const uint8_t* addr, bool v6) {
  for (const IpPrefix& a : addresses)
    if (a.ipv6 == v6 && std::memcmp(a.address.data(), addr, v6 ? 16 : 4) == 0) return true;
  return false;
}

uint8_t IcmpType(const PacketMeta& meta) { return static_cast<uint8_t>(meta.src_port >> 8); }

// Ethernet: back to the sender, from us.
void TurnAround(uint8_t* eth, const rte_ether_addr& port_mac) {
  std::memcpy(eth, eth + 6, 6);
  std::memcpy(eth + 6, port_mac.addr_bytes, 6);
}

uint16_t Icmp6Checksum(const rte_ipv6_hdr* ip, const uint8_t* icmp, uint32_t len) {
  uint32_t sum = rte_ipv6_phdr_cksum(ip, 0);
  sum += rte_raw_cksum(icmp, len);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t folded = static_cast<uint16_t>(~sum);
  return folded == 0 ? 0xffff : folded;
}

}  // namespace

bool IsNeighbourDiscovery(const PacketMeta& meta) noexcept {
  return meta.family == Family::kIpv6 && meta.protocol == kProtoIcmpV6 && !meta.later_fragment &&
         IcmpType(meta) >= kRouterSolicit && IcmpType(meta) <= kRedirect;
}

OwnAddressRequest ClassifyOwnAddressRequest(const rte_mbuf* frame, const PacketMeta& meta,
                                            std::span<const IpPrefix> addresses) noexcept {
  using enum OwnAddressRequest;
  if (addresses.empty()) return kNone;
  const auto* data = rte_pktmbuf_mtod(frame, const uint8_t*);
  if (meta.family == Family::kArp) {
    if (frame->data_len < meta.l3_offset + sizeof(rte_arp_hdr)) return kNone;
    const auto* arp = reinterpret_cast<const rte_arp_hdr*>(data + meta.l3_offset);
    const bool ours =
        arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
        arp->arp_hardware == rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) &&
        arp->arp_protocol == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
        Listed(addresses, reinterpret_cast<const uint8_t*>(&arp->arp_data.arp_tip), false);
    return ours ? kResolution : kNone;
  }
  if (meta.later_fragment) return kNone;
  if (meta.family == Family::kIpv4)
    return meta.protocol == kProtoIcmp && IcmpType(meta) == kIcmpEchoRequest &&
                   Listed(addresses, meta.dst.data(), false)
               ? kEcho
               : kNone;
  if (meta.family != Family::kIpv6 || meta.protocol != kProtoIcmpV6) return kNone;
  if (IcmpType(meta) == kIcmpV6EchoRequest)
    return Listed(addresses, meta.dst.data(), true) ? kEcho : kNone;
  // RFC 4861 7.1.1: hop limit 255, code 0, the target (at +8) one of ours.
  if (IcmpType(meta) == kNeighbourSolicit && meta.hop_limit == 255 && (meta.src_port & 0xff) == 0 &&
      frame->data_len >= meta.l4_offset + 24u && Listed(addresses, data + meta.l4_offset + 8, true))
    return kResolution;
  return kNone;
}

bool MakeOwnAddressReply(rte_mbuf* frame, const PacketMeta& meta,
                         const rte_ether_addr& port_mac) noexcept {
  auto* data = rte_pktmbuf_mtod(frame, uint8_t*);
  TurnAround(data, port_mac);
  if (meta.family == Family::kArp) {
    auto* arp = reinterpret_cast<rte_arp_hdr*>(data + meta.l3_offset);
    rte_arp_ipv4& a = arp->arp_data;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    a.arp_tha = a.arp_sha;
    a.arp_sha = port_mac;
    const uint32_t sender = a.arp_sip;  // packed fields: no references
    a.arp_sip = a.arp_tip;
    a.arp_tip = sender;
    return true;
  }
  if (meta.family == Family::kIpv4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(data + meta.l3_offset);
    const uint32_t src = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = src;
    ip->time_to_live = 64;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    uint8_t* icmp = data + meta.l4_offset;
    const uint32_t len = rte_be_to_cpu_16(ip->total_length) - (meta.l4_offset - meta.l3_offset);
    icmp[0] = kIcmpEchoReply;
    icmp[2] = icmp[3] = 0;
    const uint16_t sum = static_cast<uint16_t>(~rte_raw_cksum(icmp, len));
    std::memcpy(icmp + 2, &sum, 2);
    return true;
  }
  auto* ip = reinterpret_cast<rte_ipv6_hdr*>(data + meta.l3_offset);
  uint8_t* icmp = data + meta.l4_offset;
  if (IcmpType(meta) == kIcmpV6EchoRequest) {
    uint8_t src[16];
    std::memcpy(src, ip->src_addr, 16);
    std::memcpy(ip->src_addr, ip->dst_addr, 16);
    std::memcpy(ip->dst_addr, src, 16);
    ip->hop_limits = 64;
    icmp[0] = kIcmpV6EchoReply;
  } else {
    // Neighbour advertisement for the solicited target, with our link-layer address.
    const uint32_t have = frame->data_len - meta.l4_offset;
    if (have < kNaLength &&
        rte_pktmbuf_append(frame, static_cast<uint16_t>(kNaLength - have)) == nullptr)
      return false;
    if (have > kNaLength) rte_pktmbuf_trim(frame, static_cast<uint16_t>(have - kNaLength));
    uint8_t target[16];
    std::memcpy(target, icmp + 8, 16);
    std::memcpy(ip->dst_addr, ip->src_addr, 16);
    std::memcpy(ip->src_addr, target, 16);
    ip->hop_limits = 255;  // RFC 4861: ND messages carry 255
    ip->payload_len =
        rte_cpu_to_be_16(static_cast<uint16_t>(kNaLength + (meta.l4_offset - meta.l3_offset - 40)));
    std::memset(icmp, 0, kNaLength);
    icmp[0] = kNeighbourAdvert;
    icmp[4] = kNaSolicited | kNaOverride;
    std::memcpy(icmp + 8, target, 16);
    icmp[24] = kNdOptTargetLinkAddr;
    icmp[25] = 1;  // in units of 8 bytes
    std::memcpy(icmp + 26, port_mac.addr_bytes, 6);
  }
  icmp[2] = icmp[3] = 0;
  const uint32_t len = rte_be_to_cpu_16(ip->payload_len) - (meta.l4_offset - meta.l3_offset - 40);
  const uint16_t sum = Icmp6Checksum(ip, icmp, len);
  std::memcpy(icmp + 2, &sum, 2);
  return true;
}

}  // namespace sbc::dataplane
