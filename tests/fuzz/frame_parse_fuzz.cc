// Any bytes as a received frame: ParseFrame must return a verdict, read nothing
// outside the frame (ASan), and for a frame it accepts, give offsets inside it.
//
// The first byte picks what the frame claims to be: raw bytes, or an Ethernet type
// written in (IPv4, IPv6, ARP, behind a VLAN tag or not), so that the fuzzer spends
// its inputs inside the IP parsers rather than on finding an Ethernet type first.
#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sbc/dataplane/core/packet.h"

namespace {

constexpr std::array<uint16_t, 3> kEtherTypes = {0x0800, 0x86dd, 0x0806};  // IPv4, IPv6, ARP

void PutEtherType(std::vector<uint8_t>& frame, size_t at, uint16_t type) {
  if (frame.size() < at + 2) return;
  frame[at] = static_cast<uint8_t>(type >> 8);
  frame[at + 1] = static_cast<uint8_t>(type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > UINT16_MAX) return -1;
  // The frame alone in its buffer, so a read past it is a heap overflow ASan reports.
  std::vector<uint8_t> buffer(data + 1, data + size);
  const uint8_t pick = data[0] % 7;  // 0: raw; 1-3: a type; 4-6: that type behind a VLAN tag
  if (pick >= 4) {
    PutEtherType(buffer, 12, 0x8100);
    PutEtherType(buffer, 16, kEtherTypes[pick - 4]);
  } else if (pick >= 1) {
    PutEtherType(buffer, 12, kEtherTypes[pick - 1]);
  }
  rte_mbuf frame{};
  frame.buf_addr = buffer.data();
  frame.data_off = 0;
  frame.data_len = static_cast<uint16_t>(buffer.size());
  frame.pkt_len = static_cast<uint32_t>(buffer.size());
  frame.nb_segs = 1;
  sbc::dataplane::PacketMeta meta;
  if (sbc::dataplane::ParseFrame(&frame, &meta) != sbc::dataplane::kNotDropped) return 0;
  using sbc::dataplane::Family;
  if (meta.family != Family::kArp && meta.family != Family::kIpv4 && meta.family != Family::kIpv6)
    std::abort();  // accepted, but neither ARP nor IP
  if (meta.family != Family::kArp &&
      (meta.l3_offset > buffer.size() || meta.l4_offset < meta.l3_offset ||
       meta.l4_offset > buffer.size()))
    std::abort();  // offsets outside the frame
  return 0;
}
