// Builds test frames into mbufs: Ethernet, optional 802.1Q tag, IPv4 or IPv6, UDP or
// TCP. Tests state the fields they care about; the rest get sane defaults.
#pragma once

#include <array>
#include <cstdint>
#include <string>

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
  int vlan = -1;          // 802.1Q VLAN id, or -1 for none
  uint16_t payload = 18;  // bytes after the L4 header
};

// The spec with source and destination (addresses and ports) swapped: the reply.
FrameSpec Reversed(FrameSpec spec);

// A frame for `spec` from `pool`; nullptr if the pool is empty.
rte_mbuf* BuildFrame(rte_mempool* pool, const FrameSpec& spec);

}  // namespace sbc::testing
