#include "sbc/drivers/nic/rss.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

namespace sbc::drivers::nic {
namespace {

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoSctp = 132;

bool HasPorts(uint8_t proto) {
  return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp;
}

// Reads a big-endian 16-bit port pair at `offset`; false when the frame is too short.
bool ReadPorts(const rte_mbuf* frame, uint32_t offset, uint16_t* src, uint16_t* dst) {
  rte_be16_t ports[2];
  const void* p = rte_pktmbuf_read(frame, offset, sizeof(ports), ports);
  if (p == nullptr) return false;
  const auto* be = static_cast<const rte_be16_t*>(p);
  *src = rte_be_to_cpu_16(be[0]);
  *dst = rte_be_to_cpu_16(be[1]);
  return true;
}

// rte_softrss reads its tuple as host-order 32-bit words; IPv6 addresses are bytes in
// network order, so each 4-byte group is reversed.
void CopyAsHostWords(const uint8_t (&address)[16], uint8_t (&out)[16]) {
  for (int word = 0; word < 4; ++word)
    for (int byte = 0; byte < 4; ++byte) out[word * 4 + byte] = address[word * 4 + 3 - byte];
}

}  // namespace

uint32_t SymmetricFlowHash(const rte_mbuf* frame) noexcept {
  rte_ether_hdr eth_copy;
  const auto* eth =
      static_cast<const rte_ether_hdr*>(rte_pktmbuf_read(frame, 0, sizeof(eth_copy), &eth_copy));
  if (eth == nullptr) return 0;
  uint32_t offset = sizeof(rte_ether_hdr);
  uint16_t ether_type = rte_be_to_cpu_16(eth->ether_type);
  if (ether_type == RTE_ETHER_TYPE_VLAN) {
    rte_vlan_hdr vlan_copy;
    const auto* vlan = static_cast<const rte_vlan_hdr*>(
        rte_pktmbuf_read(frame, offset, sizeof(vlan_copy), &vlan_copy));
    if (vlan == nullptr) return 0;
    ether_type = rte_be_to_cpu_16(vlan->eth_proto);
    offset += sizeof(rte_vlan_hdr);
  }

  if (ether_type == RTE_ETHER_TYPE_IPV4) {
    rte_ipv4_hdr ip_copy;
    const auto* ip = static_cast<const rte_ipv4_hdr*>(
        rte_pktmbuf_read(frame, offset, sizeof(ip_copy), &ip_copy));
    if (ip == nullptr) return 0;
    rte_ipv4_tuple tuple{};
    tuple.src_addr = rte_be_to_cpu_32(ip->src_addr);
    tuple.dst_addr = rte_be_to_cpu_32(ip->dst_addr);
    uint32_t length = RTE_THASH_V4_L3_LEN;
    const bool first_fragment =
        (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) == 0;
    if (HasPorts(ip->next_proto_id) && first_fragment &&
        ReadPorts(frame, offset + rte_ipv4_hdr_len(ip), &tuple.sport, &tuple.dport))
      length = RTE_THASH_V4_L4_LEN;
    return rte_softrss(reinterpret_cast<uint32_t*>(&tuple), length, kSymmetricRssKey.data());
  }

  if (ether_type == RTE_ETHER_TYPE_IPV6) {
    rte_ipv6_hdr ip_copy;
    const auto* ip = static_cast<const rte_ipv6_hdr*>(
        rte_pktmbuf_read(frame, offset, sizeof(ip_copy), &ip_copy));
    if (ip == nullptr) return 0;
    rte_ipv6_tuple tuple{};
    CopyAsHostWords(ip->src_addr, tuple.src_addr);
    CopyAsHostWords(ip->dst_addr, tuple.dst_addr);
    uint32_t length = RTE_THASH_V6_L3_LEN;
    // Extension headers are not walked here: such packets hash on addresses only,
    // which is still symmetric.
    if (HasPorts(ip->proto) &&
        ReadPorts(frame, offset + sizeof(rte_ipv6_hdr), &tuple.sport, &tuple.dport))
      length = RTE_THASH_V6_L4_LEN;
    return rte_softrss(reinterpret_cast<uint32_t*>(&tuple), length, kSymmetricRssKey.data());
  }
  return 0;
}

}  // namespace sbc::drivers::nic
