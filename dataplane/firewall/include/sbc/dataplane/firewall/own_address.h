// Answering for the appliance's own service addresses on its data ports: ARP requests,
// IPv6 neighbour solicitations and ICMP/ICMPv6 echo requests are turned into their
// replies in place, to leave by the port they came in on. Worker thread; no
// allocation (an NA may grow the frame within its tailroom).
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <span>

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/firewall/rule_spec.h"

struct rte_mbuf;

namespace sbc::dataplane {

enum class OwnAddressRequest : uint8_t {
  kNone,        // not a request for one of our addresses
  kResolution,  // ARP request or neighbour solicitation for it
  kEcho,        // ICMP or ICMPv6 echo request to it
};

// What `meta` asks of the appliance itself for one of `addresses` (kNone: nothing).
// A neighbour solicitation counts only with hop limit 255 (RFC 4861 7.1.1: anything
// less was not sent on this link); the worker drops ND that fails this before asking.
[[nodiscard]] OwnAddressRequest ClassifyOwnAddressRequest(
    const rte_mbuf* frame, const PacketMeta& meta, std::span<const IpPrefix> addresses) noexcept;

// IPv6 neighbour or router discovery (ICMPv6 types 133 to 137).
[[nodiscard]] bool IsNeighbourDiscovery(const PacketMeta& meta) noexcept;

// Rewrites a ClassifyOwnAddressRequest() frame into its reply from `port_mac`. False if it
// cannot (no tailroom for an NA); the caller then drops it.
[[nodiscard]] bool MakeOwnAddressReply(rte_mbuf* frame, const PacketMeta& meta,
                                       const rte_ether_addr& port_mac) noexcept;

}  // namespace sbc::dataplane
