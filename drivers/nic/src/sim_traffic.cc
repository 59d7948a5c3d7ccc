#include "sbc/drivers/nic/sim_traffic.h"

#include <netinet/in.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstring>

namespace sbc::drivers::nic {
namespace {

// Marks a payload as ours, so Sequence() never misreads a foreign frame.
constexpr uint64_t kPayloadMagic = 0x5342432d53494d31;  // "SBC-SIM1"
constexpr rte_ether_addr kClientMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
constexpr rte_ether_addr kServerMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
constexpr uint32_t kHeaderBytes =
    sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);

struct Stamp {
  uint64_t magic;
  uint64_t sequence;
};
static_assert(kHeaderBytes + sizeof(Stamp) <= SimTraffic::kFrameSizes[0]);

// Flow i: client 10.x.y.z:port <-> server 192.0.2.n:5004 + i % 1000 (RTP-like ports).
struct Tuple {
  uint32_t client_ip, server_ip;
  uint16_t client_port, server_port;
};
Tuple FlowTuple(uint32_t flow) {
  return Tuple{.client_ip = RTE_IPV4(10, (flow >> 16) & 0xff, (flow >> 8) & 0xff, flow & 0xff),
               .server_ip = RTE_IPV4(192, 0, 2, 1 + flow % 254),
               .client_port = static_cast<uint16_t>(1024 + flow % 60000),
               .server_port = static_cast<uint16_t>(5004 + 2 * (flow % 1000))};
}

}  // namespace

SimTraffic::SimTraffic(rte_mempool* pool, uint32_t flows, uint32_t runt_every)
    : pool_(pool), flows_(flows == 0 ? 1 : flows), runt_every_(runt_every) {}

uint16_t SimTraffic::Build(Direction direction, rte_mbuf** frames, uint16_t count) noexcept {
  if (rte_pktmbuf_alloc_bulk(pool_, frames, count) != 0) {
    // Not enough for the whole burst: take what is there, one by one.
    uint16_t got = 0;
    while (got < count && (frames[got] = rte_pktmbuf_alloc(pool_)) != nullptr) ++got;
    count = got;
  }
  for (uint16_t i = 0; i < count; ++i) {
    const uint64_t seq = next_sequence_;
    const bool runt = runt_every_ != 0 && (seq + 1) % runt_every_ == 0;
    Fill(frames[i], direction, runt ? kRuntSize : kFrameSizes[seq % kFrameSizes.size()]);
  }
  return count;
}

void SimTraffic::Fill(rte_mbuf* frame, Direction direction, uint16_t size) noexcept {
  const uint64_t seq = next_sequence_++;
  char* data = rte_pktmbuf_append(frame, size);
  std::memset(data, 0, size);
  if (size < kHeaderBytes + sizeof(Stamp)) return;  // a runt: zeroes, no headers

  const Tuple t = FlowTuple(static_cast<uint32_t>(seq % flows_));
  const bool forward = direction == Direction::kForward;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(data);
  eth->src_addr = forward ? kClientMac : kServerMac;
  eth->dst_addr = forward ? kServerMac : kClientMac;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);

  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(size - sizeof(rte_ether_hdr)));
  ip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(seq));
  ip->time_to_live = 64;
  ip->next_proto_id = IPPROTO_UDP;
  ip->src_addr = rte_cpu_to_be_32(forward ? t.client_ip : t.server_ip);
  ip->dst_addr = rte_cpu_to_be_32(forward ? t.server_ip : t.client_ip);
  ip->hdr_checksum = rte_ipv4_cksum(ip);

  auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
  udp->src_port = rte_cpu_to_be_16(forward ? t.client_port : t.server_port);
  udp->dst_port = rte_cpu_to_be_16(forward ? t.server_port : t.client_port);
  udp->dgram_len =
      rte_cpu_to_be_16(static_cast<uint16_t>(size - sizeof(rte_ether_hdr) - sizeof(rte_ipv4_hdr)));
  const Stamp stamp{.magic = kPayloadMagic, .sequence = seq};
  std::memcpy(udp + 1, &stamp, sizeof(stamp));
}

std::optional<uint64_t> SimTraffic::Sequence(const rte_mbuf* frame) noexcept {
  Stamp stamp;
  const void* p = rte_pktmbuf_read(frame, kHeaderBytes, sizeof(stamp), &stamp);
  if (p == nullptr) return std::nullopt;
  std::memcpy(&stamp, p, sizeof(stamp));
  if (stamp.magic != kPayloadMagic) return std::nullopt;
  return stamp.sequence;
}

}  // namespace sbc::drivers::nic
