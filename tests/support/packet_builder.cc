#include "support/packet_builder.h"

#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <cstring>
#include <utility>

namespace sbc::testing {

FrameSpec Reversed(FrameSpec spec) {
  std::swap(spec.src_ip, spec.dst_ip);
  std::swap(spec.src_port, spec.dst_port);
  return spec;
}

rte_mbuf* BuildFrame(rte_mempool* pool, const FrameSpec& spec) {
  rte_mbuf* frame = rte_pktmbuf_alloc(pool);
  if (frame == nullptr) return nullptr;
  const uint16_t l4_len = spec.protocol == IPPROTO_TCP ? sizeof(rte_tcp_hdr) : sizeof(rte_udp_hdr);
  const uint16_t l3_len = spec.ipv6 ? sizeof(rte_ipv6_hdr) : sizeof(rte_ipv4_hdr);
  const uint16_t vlan_len = spec.vlan >= 0 ? sizeof(rte_vlan_hdr) : 0;
  const uint16_t total = sizeof(rte_ether_hdr) + vlan_len + l3_len + l4_len + spec.payload;
  auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(frame, total));
  std::memset(data, 0, total);

  auto* eth = reinterpret_cast<rte_ether_hdr*>(data);
  eth->src_addr = {{0x02, 0, 0, 0, 0, 0x0a}};
  eth->dst_addr = {{0x02, 0, 0, 0, 0, 0x0b}};
  uint8_t* next = data + sizeof(rte_ether_hdr);
  const uint16_t l3_type = spec.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4;
  if (spec.vlan >= 0) {
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
    auto* vlan = reinterpret_cast<rte_vlan_hdr*>(next);
    vlan->vlan_tci = rte_cpu_to_be_16(static_cast<uint16_t>(spec.vlan));
    vlan->eth_proto = rte_cpu_to_be_16(l3_type);
    next += sizeof(rte_vlan_hdr);
  } else {
    eth->ether_type = rte_cpu_to_be_16(l3_type);
  }

  const uint16_t l4_total = l4_len + spec.payload;
  if (spec.ipv6) {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(next);
    ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
    ip->payload_len = rte_cpu_to_be_16(l4_total);
    ip->proto = spec.protocol;
    ip->hop_limits = 64;
    std::memcpy(ip->src_addr, spec.src_ip.data(), 16);
    std::memcpy(ip->dst_addr, spec.dst_ip.data(), 16);
  } else {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(next);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(l3_len + l4_total));
    ip->time_to_live = 64;
    ip->next_proto_id = spec.protocol;
    std::memcpy(&ip->src_addr, spec.src_ip.data(), 4);
    std::memcpy(&ip->dst_addr, spec.dst_ip.data(), 4);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  next += l3_len;
  // TCP and UDP both start with source and destination port.
  auto* ports = reinterpret_cast<rte_be16_t*>(next);
  ports[0] = rte_cpu_to_be_16(spec.src_port);
  ports[1] = rte_cpu_to_be_16(spec.dst_port);
  if (spec.protocol == IPPROTO_UDP)
    reinterpret_cast<rte_udp_hdr*>(next)->dgram_len = rte_cpu_to_be_16(l4_total);
  return frame;
}

}  // namespace sbc::testing
