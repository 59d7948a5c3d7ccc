#include "support/packet_builder.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstring>
#include <utility>

namespace sbc::testing {
namespace {

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

}  // namespace

std::array<uint8_t, 16> Ip(const char* text) {
  std::array<uint8_t, 16> out{};
  if (inet_pton(AF_INET6, text, out.data()) != 1) inet_pton(AF_INET, text, out.data());
  return out;
}

FrameSpec Reversed(FrameSpec spec) {
  std::swap(spec.src_ip, spec.dst_ip);
  std::swap(spec.src_port, spec.dst_port);
  return spec;
}

FrameSpec UdpDatagram(const std::array<uint8_t, 16>& src, uint16_t src_port,
                      const std::array<uint8_t, 16>& dst, uint16_t dst_port,
                      std::vector<uint8_t> payload, bool ipv6) {
  FrameSpec spec;
  spec.ipv6 = ipv6;
  spec.src_ip = src;
  spec.dst_ip = dst;
  spec.src_port = src_port;
  spec.dst_port = dst_port;
  spec.payload = static_cast<uint16_t>(payload.size());
  spec.payload_bytes = std::move(payload);
  return spec;
}

rte_mbuf* BuildFrame(rte_mempool* pool, const FrameSpec& spec) {
  rte_mbuf* frame = rte_pktmbuf_alloc(pool);
  if (frame == nullptr) return nullptr;
  const bool icmp = spec.protocol == IPPROTO_ICMP || spec.protocol == IPPROTO_ICMPV6;
  const uint16_t l4_len = spec.protocol == IPPROTO_TCP ? 20 : 8;  // UDP and ICMP: 8
  const uint16_t options = static_cast<uint16_t>((spec.ipv4_options.size() + 3) / 4 * 4);
  uint16_t ext_len = 8 * static_cast<uint16_t>(spec.ipv6_destination_options) +
                     (spec.ipv6_routing_type >= 0 ? 8 : 0) +
                     (spec.fragment_offset || spec.more_fragments ? 8 : 0);
  if (!spec.ipv6) ext_len = 0;
  const uint16_t l3_len = spec.ipv6 ? 40 + ext_len : 20 + options;
  const uint16_t vlan_len = spec.vlan >= 0 ? 4 : 0;
  const uint16_t payload =
      spec.payload_bytes.empty() ? spec.payload : static_cast<uint16_t>(spec.payload_bytes.size());
  const uint16_t total = 14 + vlan_len + l3_len + l4_len + payload;
  auto* data = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(frame, total));
  std::memset(data, 0, total);

  const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x0b}, src_mac[6] = {0x02, 0, 0, 0, 0, 0x0a};
  std::memcpy(data, dst_mac, 6);
  std::memcpy(data + 6, src_mac, 6);
  uint8_t* p = data + 12;
  const uint16_t l3_type =
      spec.ether_type ? spec.ether_type : (spec.ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
  if (spec.vlan >= 0) {
    Put16(p, RTE_ETHER_TYPE_VLAN);
    Put16(p + 2, static_cast<uint16_t>(spec.vlan));
    p += 4;
  }
  Put16(p, l3_type);
  p += 2;

  const uint16_t l4_total = l4_len + payload;
  if (spec.ipv6) {
    p[0] = 0x60;
    Put16(p + 4, static_cast<uint16_t>(ext_len + l4_total));
    p[7] = spec.ttl;
    std::memcpy(p + 8, spec.src_ip.data(), 16);
    std::memcpy(p + 24, spec.dst_ip.data(), 16);
    uint8_t* next_field = p + 6;
    uint8_t* ext = p + 40;
    auto chain = [&](uint8_t type) {
      *next_field = type;
      next_field = ext;  // each extension header starts with its next-header byte
    };
    for (int i = 0; i < spec.ipv6_destination_options; ++i) {
      chain(60);
      ext[2] = 1;  // PadN option covering the rest
      ext[3] = 4;
      ext += 8;
    }
    if (spec.ipv6_routing_type >= 0) {
      chain(43);
      ext[2] = static_cast<uint8_t>(spec.ipv6_routing_type);
      ext += 8;
    }
    if (spec.fragment_offset || spec.more_fragments) {
      chain(44);
      Put16(ext + 2,
            static_cast<uint16_t>(spec.fragment_offset << 3 | (spec.more_fragments ? 1 : 0)));
      ext += 8;
    }
    *next_field = spec.protocol;
    p = ext;
  } else {
    p[0] = static_cast<uint8_t>(0x40 | (5 + options / 4));
    Put16(p + 2, static_cast<uint16_t>(l3_len + l4_total));
    Put16(p + 6, static_cast<uint16_t>(spec.fragment_offset | (spec.more_fragments ? 0x2000 : 0)));
    p[8] = spec.ttl;
    p[9] = spec.protocol;
    std::memcpy(p + 12, spec.src_ip.data(), 4);
    std::memcpy(p + 16, spec.dst_ip.data(), 4);
    if (!spec.ipv4_options.empty())
      std::memcpy(p + 20, spec.ipv4_options.data(), spec.ipv4_options.size());
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    p += l3_len;
  }
  if (icmp) {
    p[0] = spec.icmp_type;
    p[1] = spec.icmp_code;
    Put16(p + 4, spec.icmp_id);
  } else {
    Put16(p, spec.src_port);
    Put16(p + 2, spec.dst_port);
    if (spec.protocol == IPPROTO_UDP) Put16(p + 4, l4_total);
    if (spec.protocol == IPPROTO_TCP) {
      p[12] = 5 << 4;
      p[13] = spec.tcp_flags;
    }
  }
  if (!spec.payload_bytes.empty())
    std::memcpy(p + l4_len, spec.payload_bytes.data(), spec.payload_bytes.size());
  if (spec.mutate) spec.mutate(data, total);
  if (spec.truncate_to >= 0 && spec.truncate_to < total)
    rte_pktmbuf_trim(frame, static_cast<uint16_t>(total - spec.truncate_to));
  return frame;
}

}  // namespace sbc::testing
