// Builds test frames into mbufs: Ethernet, optional 802.1Q tag, IPv4 (with options and
// fragments) or IPv6 (with extension headers), then UDP, TCP or ICMP/ICMPv6. Tests
// state the fields they care about; the rest get sane defaults. `mutate` edits the
// finished bytes, for malformed cases; `truncate_to` cuts the frame short.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

namespace sbc::testing {

struct FrameSpec {
  bool ipv6 = false;
  std::array<uint8_t, 16> src_ip{};  // IPv4 uses the first 4 bytes
  std::array<uint8_t, 16> dst_ip{};
  uint8_t protocol = 17;  // UDP
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  int vlan = -1;                       // 802.1Q VLAN id, or -1 for none
  uint16_t payload = 18;               // bytes after the L4 header
  std::vector<uint8_t> payload_bytes;  // those bytes (then `payload` is their count); else zeros
  uint8_t ttl = 64;
  uint8_t tcp_flags = 0x02;           // SYN
  std::vector<uint8_t> ipv4_options;  // padded to a multiple of 4
  uint16_t fragment_offset = 0;       // in 8-byte units
  bool more_fragments = false;
  uint8_t icmp_type = 8;
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 1;
  int ipv6_destination_options = 0;  // that many empty 8-byte headers
  int ipv6_routing_type = -1;        // add a routing header of this type
  uint16_t ether_type = 0;           // override (0: from the IP version)
  std::function<void(uint8_t* frame, uint16_t length)> mutate;
  int truncate_to = -1;
};

// Dotted IPv4 or IPv6 text into FrameSpec's address layout.
std::array<uint8_t, 16> Ip(const char* text);

// A UDP datagram (IPv4, or IPv6 with `ipv6`) carrying exactly `payload`.
FrameSpec UdpDatagram(const std::array<uint8_t, 16>& src, uint16_t src_port,
                      const std::array<uint8_t, 16>& dst, uint16_t dst_port,
                      std::vector<uint8_t> payload, bool ipv6 = false);

// The spec with source and destination (addresses and ports) swapped: the reply.
FrameSpec Reversed(FrameSpec spec);

// A frame for `spec` from `pool`; nullptr if the pool is empty.
rte_mbuf* BuildFrame(rte_mempool* pool, const FrameSpec& spec);

}  // namespace sbc::testing
