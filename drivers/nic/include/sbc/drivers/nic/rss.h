// Receive-side scaling that keeps both directions of a flow on one queue.
//
// The dataplane's per-worker state (conntrack, SRTP contexts) assumes a flow and its
// reply reach the same worker. NICs get this from a Toeplitz key whose 16-bit pattern
// repeats (0x6d5a...): swapping source and destination leaves the hash unchanged.
// Virtual devices have no hardware RSS; the sim wire uses SymmetricFlowHash to steer
// with the same key, so the invariant holds there too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

struct rte_mbuf;

namespace sbc::drivers::nic {

inline constexpr size_t kRssKeyLength = 40;
inline constexpr std::array<uint8_t, kRssKeyLength> kSymmetricRssKey = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};

// Toeplitz hash with kSymmetricRssKey over the packet's IPv4/IPv6 addresses and, for
// TCP/UDP/SCTP, ports (one 802.1Q tag allowed). The same for a packet and its reply.
// Non-IP and truncated frames hash to 0. Any thread; reads the frame only.
[[nodiscard]] uint32_t SymmetricFlowHash(const rte_mbuf* frame) noexcept;

}  // namespace sbc::drivers::nic
