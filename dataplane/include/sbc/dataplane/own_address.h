// Answering for the appliance's own service addresses on its data ports: ARP requests,
// IPv6 neighbour solicitations and ICMP/ICMPv6 echo requests are turned into their
// replies in place, to leave by the port they came in on. Worker thread; no
// allocation (an NA may grow the frame within its tailroom).
#pragma once

#include <rte_ether.h>

#include <array>
#include <cstdint>
#include <span>

#include "sbc/dataplane/packet.h"
#include "sbc/dataplane/rule_spec.h"

struct rte_mbuf;

namespace sbc::dataplane {

// True when `meta` is a request the appliance answers itself for one of `addresses`.
[[nodiscard]] bool IsOwnAddressRequest(const rte_mbuf* frame, const PacketMeta& meta,
                                       std::span<const IpPrefix> addresses) noexcept;

// Rewrites an IsOwnAddressRequest() frame into its reply from `port_mac`. False if it
// cannot (no tailroom for an NA); the caller then drops it.
[[nodiscard]] bool MakeOwnAddressReply(rte_mbuf* frame, const PacketMeta& meta,
                                       const rte_ether_addr& port_mac) noexcept;

}  // namespace sbc::dataplane
