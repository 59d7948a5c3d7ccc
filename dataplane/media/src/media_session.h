// The workers' runtime layout of a media session (see media_table.h for who writes
// what): private to the media feature. Code outside it reads a session through
// MediaTable::Snapshot(); tests of the feature include this header to look inside.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "sbc/dataplane/media/media_spec.h"
#include "sbc/dataplane/media/media_table.h"
#include "sbc/dataplane/media/rtp_stats.h"
#include "sbc/dataplane/srtp/srtp_stream.h"

namespace sbc::dataplane {

// A leg's remote as other threads read it while its owner may latch a new one: a
// sequence lock over atomic words (the form with release stores and acquire loads,
// which needs no fence). One writer at a time: the owner (latching, or applying an
// update), or the control lcore before the session is on the workers' path.
class PublishedEndpoint {
 public:
  void Store(const std::optional<MediaEndpoint>& endpoint) noexcept;
  // Never a mix of two stores.
  [[nodiscard]] std::optional<MediaEndpoint> Load() const noexcept;

 private:
  std::atomic<uint32_t> sequence_{0};           // odd while a store is under way
  std::atomic<uint32_t> known_family_port_{0};  // bit 24: known; bits 16-23: family; port
  std::array<std::atomic<uint64_t>, 2> address_{};
};

// Runtime state of one leg (see the header comment for who writes what). The fields
// the relay touches per packet come first: addresses and flags in the first cache
// line, reception stats and inbound counters in the second, outbound counters at the
// start of the third; then the SRTP streams; the spec as created (keys cleared) last,
// for listings.
struct alignas(64) MediaLeg {
  MediaEndpoint local;            // our relay address and RTP port
  MediaEndpoint remote;           // RTP; RTCP at remote.port + 1 unless muxed
  std::array<uint8_t, 6> link{};  // the remote's (or its router's) MAC, learnt from its packets
  bool remote_known = false;
  bool link_known = false;
  bool srtp = false;
  bool rtcp_mux = false;
  bool remote_given = false;  // a given remote never moves: nothing latches
  Latching latching = Latching::kFirstPacket;
  uint8_t port_slot = 0;
  // TSC to RTP clock units, as a 32.32 fixed-point factor: no division per packet.
  uint64_t rtp_units_per_tsc_q32 = 0;
  RtpReceptionStats rtp_stats;
  MediaLegCounters counters;
  SrtpStream from_leg, to_leg;
  // `remote` and `remote_known` for other threads; written with them.
  PublishedEndpoint published_remote;
  MediaLegSpec spec;
};

// What a relay port maps to: one cache line, the first a packet reads. The table
// indexes ports by number; ports of one number on other addresses hang off `next`
// (written by the control lcore, read by workers).
struct alignas(64) MediaPort {
  std::atomic<MediaPort*> next{nullptr};
  MediaSession* session = nullptr;
  // The crypto session that unprotects what arrives here (nullptr: plain), for the
  // relay to ask for ahead of use.
  const void* unprotect_session = nullptr;
  uint32_t unprotect_session_lines = 0;  // SrtpStream::session_lines
  // When a packet last arrived here (TSC; the worker writes, the control lcore reads):
  // a session is idle when all its ports are.
  mutable std::atomic<uint64_t> last_active_tsc{0};
  MediaEndpoint local;
  uint8_t leg = 0;
  bool rtcp = false;
  bool other_leg_srtp = false;  // the packets go out protected
  uint8_t owner = 0;            // the session's worker
};
static_assert(sizeof(MediaPort) == 64, "a relay port is the one cache line a packet reads first");

struct MediaSession {
  uint64_t id = 0;
  uint8_t owner = 0;  // the worker that relays it
  // The legs' RTP ports first, then RTCP's.
  std::array<MediaPort, 4> ports;
  uint8_t port_count = 0;
  std::array<MediaLeg, 2> legs;
  // Last packet on any of its ports (control lcore).
  uint64_t LastActiveTsc() const;
};

// A change to a live session (MediaTable::Update), made ready by the control lcore
// (fresh streams built, remote and clock factor worked out) and applied by the
// session's owner between two bursts: the legs' runtime state keeps its one writer,
// and the session never leaves the workers' path, so no packet of it is dropped.
struct MediaSessionChange {
  MediaSession* session = nullptr;
  struct Leg {
    std::optional<MediaEndpoint> remote;  // given (IPv4's spare bytes zero); nullopt: latched
    uint64_t rtp_units_per_tsc_q32 = 0;
    bool srtp = false;
    // [0]: from the leg, [1]: to it. `replace`: `stream` takes the current one's place,
    // which comes back in `stream`; `retired`: that one is SRTP, for the control lcore
    // to release once the change is applied.
    bool replace[2] = {};
    bool retired[2] = {};
    SrtpStream stream[2];
  };
  std::array<Leg, 2> legs;
  std::atomic<bool> applied{false};  // release: everything above is written
};

}  // namespace sbc::dataplane
