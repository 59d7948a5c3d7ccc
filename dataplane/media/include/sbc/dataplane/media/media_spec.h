// What the control side says of a media session: its legs' relay addresses, remotes,
// latching policy and SRTP keys, as created (MediaSessionSpec) or changed by a
// re-offer (MediaSessionUpdate). Plain values: the control side builds them without
// the packet core's runtime state (media_table.h's sessions hold that).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/srtp/srtp_suite.h"

namespace sbc::dataplane {

struct MediaEndpoint {
  Family family = Family::kIpv4;
  std::array<uint8_t, 16> address{};  // network order; IPv4 in the first 4 bytes
  uint16_t port = 0;                  // host order
  friend bool operator==(const MediaEndpoint&, const MediaEndpoint&) = default;
};

// "203.0.113.5:4000" or "[2001:db8::5]:4000".
[[nodiscard]] std::string ToText(const MediaEndpoint& endpoint);

// When an unknown (or moved) remote may be learnt from the packets that arrive: the
// operator's policy (media.latching). Plain RTP has nothing to authenticate.
enum class Latching : uint8_t {
  kAuthenticated,  // SRTP legs latch on a packet that authenticates; plain RTP never
  kFirstPacket,    // and a plain leg latches on its first packet (legacy NAT traversal)
  kNever,          // nothing latches: a leg without a given remote relays nothing
};

struct MediaLegSpec {
  MediaEndpoint local;                  // our relay address and RTP port
  bool rtcp_mux = false;                // RTCP on the RTP port (else port + 1)
  std::optional<MediaEndpoint> remote;  // the leg's RTP address; RTCP at port + 1 unless muxed
  uint8_t port_slot = 0;                // the data port (slot) the leg is reached through
  Latching latching = Latching::kFirstPacket;
  uint32_t clock_rate = 8000;  // RTP timestamp units per second, for jitter
  // SRTP: the leg's key (for what it sends) and ours (for what we send it); both or neither.
  std::optional<SrtpStreamKeys> srtp_from_leg, srtp_to_leg;
};

struct MediaSessionSpec {
  uint64_t id = 0;
  uint8_t owner = 0;  // the worker (RCU thread id) that relays it
  std::array<MediaLegSpec, 2> legs;
};

// A live session's leg as a re-offer describes it (relay port, data port and RTCP
// multiplexing stay).
struct MediaLegUpdate {
  std::optional<MediaEndpoint> remote;  // given; nullopt: latched (a remote latched before is kept)
  uint32_t clock_rate = 8000;
  bool srtp = false;  // SRTP from now on (else plain RTP)
  // With `srtp`: the keys each way. Absent: the current stream goes on. The keys the
  // stream was built from: it goes on too, its index, replay window and rollover
  // counter as they are (a repeated SDES line must not reopen the window). Other
  // keys: a new stream.
  std::optional<SrtpStreamKeys> srtp_from_leg, srtp_to_leg;
};

struct MediaSessionUpdate {
  uint64_t id = 0;
  std::array<MediaLegUpdate, 2> legs;
};

}  // namespace sbc::dataplane
