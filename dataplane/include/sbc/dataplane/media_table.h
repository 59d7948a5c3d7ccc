// The media sessions the relay anchors. A session has two legs; each leg has a relay
// address and port of ours (RTP, and RTCP on port+1 unless muxed), a remote (given,
// or latched), the data port it lives on, and optional SRTP keys: the leg's own key
// for what it sends us, ours for what we send it.
//
// The control lcore adds and removes sessions; workers look them up by (relay
// address, port). Relay ports are ours to give out, so the port number is a perfect
// hash: an array of 65,536 heads, each a short list of the ports of that number (one
// per relay address using it), linked and unlinked RCU-style with release stores and
// read lock-free. A removed session is freed only after an rte_rcu_qsbr grace period
// (the same QSBR variable the rule tables use), so creating or deleting a session
// never stalls a worker. Against a general hash this saves the bucket and key lines
// a lookup would miss on, per packet.
//
// Each session has an owner, one worker: the only one that writes its legs' runtime
// state (latched remote, link address, SRTP windows, counters). A session's packets
// reach workers by RSS over their 5-tuples, and the two legs (and a latching leg's
// sources) hash apart, so a worker that takes a packet of another's session hands it
// to the owner through the owner's ring (see FirewallWorker) and writes nothing of it.
// Other threads read a live session only through Snapshot(): counters and statistics
// are stored whole by their one writer (shared_field.h), and the remote, which the
// owner may latch at any time, through a PublishedEndpoint.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/dataplane/packet.h"
#include "sbc/dataplane/rtp_stats.h"
#include "sbc/dataplane/srtp_stream.h"

struct rte_rcu_qsbr;

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

// A leg's remote as other threads read it while its owner may latch a new one: a
// sequence lock over atomic words (the form with release stores and acquire loads,
// which needs no fence). One writer at a time: the owner, or the control lcore while
// the session is off the workers' path (created, or unlinked for an update).
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

// In the order the relay touches them: a packet from the leg writes the first three,
// one to the leg the next two. The owner writes them with AddShared.
struct MediaLegCounters {
  uint64_t packets_in = 0, bytes_in = 0;    // accepted from the leg
  uint64_t wrong_source = 0;                // from other than the leg's remote
  uint64_t packets_out = 0, bytes_out = 0;  // relayed to the leg
  uint64_t latches = 0;                     // times the remote was learnt
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

struct MediaSession;

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

// What a listing shows of a leg, each value read whole while workers run.
struct MediaLegSnapshot {
  MediaLegSpec spec;                    // as created or last updated, keys cleared
  std::optional<MediaEndpoint> remote;  // given or latched; nullopt: none yet
  bool latched = false;                 // learnt from the leg's packets, not given
  std::optional<SrtpSuite> suite;       // nullopt: plain RTP
  MediaLegCounters counters;
  uint64_t auth_failures = 0, replays = 0;  // of what the leg sent (SRTP)
  uint64_t sequence_gaps = 0;
  uint32_t jitter = 0;  // RTP timestamp units
};

struct MediaSessionSnapshot {
  uint64_t id = 0;
  uint8_t owner = 0;
  std::array<MediaLegSnapshot, 2> legs;
  uint64_t last_active_tsc = 0;
};

class MediaTable {
 public:
  // Control lcore. Room for `max_sessions`; `qsbr` is the workers' QSBR variable.
  // `clock` (tests): the workers' time in TSC ticks, for a new session's first
  // activity stamp; nullptr: the TSC.
  [[nodiscard]] static std::expected<std::unique_ptr<MediaTable>, std::string> Create(
      uint32_t max_sessions, rte_rcu_qsbr* qsbr, SrtpStreamFactory* srtp,
      const std::atomic<uint64_t>* clock = nullptr);
  ~MediaTable();
  MediaTable(const MediaTable&) = delete;
  MediaTable& operator=(const MediaTable&) = delete;

  // Control lcore. Refuses a duplicate id, a relay port already in use, legs of
  // different address families, and SRTP keys given one way only; builds the SRTP
  // streams. The session is live when this returns.
  [[nodiscard]] std::expected<void, std::string> Add(const MediaSessionSpec& spec);
  // Control lcore. Changes a live session as `update` says; refused (nothing changed)
  // for an unknown id, a remote of the other address family, or SRTP without keys
  // both ways on a leg that had none. The workers stop finding the session for one
  // grace period (their next poll: packets then are dropped as media_no_session),
  // so nothing they write is lost or raced.
  [[nodiscard]] std::expected<void, std::string> Update(const MediaSessionUpdate& update);
  // Control lcore. Unhooks the session, waits for a grace period, frees it.
  [[nodiscard]] bool Remove(uint64_t id);
  // Control lcore: sessions idle (no packet either way) for at least `idle_tsc` at
  // `now_tsc`, removed; returns their ids.
  std::vector<uint64_t> RemoveIdle(uint64_t now_tsc, uint64_t idle_tsc);
  // Control lcore: the sessions, for listing; valid until the next Add/Remove.
  std::vector<const MediaSession*> Sessions() const;
  // Control lcore: one session, or nullptr; valid until the next Add/Update/Remove.
  [[nodiscard]] const MediaSession* Get(uint64_t id) const;
  // Control lcore, while workers run: every session as it is now, by id; one session.
  [[nodiscard]] std::vector<MediaSessionSnapshot> Snapshot() const;
  [[nodiscard]] std::optional<MediaSessionSnapshot> SnapshotOf(uint64_t id) const;

  // Workers. The relay port `local` (address family, address, port), or nullptr.
  [[nodiscard]] const MediaPort* Find(const MediaEndpoint& local) const noexcept;
  // Workers. Find() for up to 64 relay ports at once: every list head is asked for
  // before any is walked.
  void FindBulk(const MediaEndpoint* const* locals, uint32_t count,
                const MediaPort** found) const noexcept;
  // Workers: could this be media? UDP (not a later fragment) to a relay address and
  // to a port in the relay range seen so far; other traffic is the firewall's.
  // Inline: every UDP packet a worker takes in asks.
  [[nodiscard]] bool MayBeMedia(const PacketMeta& meta) const noexcept {
    if (meta.protocol != kProtoUdp || meta.later_fragment ||
        meta.dst_port < min_port_.load(std::memory_order_relaxed) ||
        meta.dst_port > max_port_.load(std::memory_order_relaxed))
      return false;
    if (any_relay_address_.load(std::memory_order_relaxed)) return true;
    const uint8_t count = relay_address_count_.load(std::memory_order_acquire);
    // All 16 bytes: a parsed IPv4 address, like a listed one, has its spare bytes zero.
    for (uint8_t i = 0; i < count; ++i)
      if (relay_addresses_[i].family == meta.family &&
          std::memcmp(relay_addresses_[i].address.data(), meta.dst.data(), 16) == 0)
        return true;
    return false;
  }

  size_t size() const { return sessions_.size(); }

 private:
  MediaTable() = default;
  void Free(std::unique_ptr<MediaSession> session);
  [[nodiscard]] const MediaPort* FindIn(const MediaPort* head,
                                        const MediaEndpoint& local) const noexcept;
  void Link(MediaPort* port);
  void Unlink(MediaPort* port);
  void SetPortHints(MediaSession& session);

  uint32_t max_sessions_ = 0;
  std::unique_ptr<std::atomic<MediaPort*>[]> by_port_;  // 65,536 list heads, by port number
  rte_rcu_qsbr* qsbr_ = nullptr;
  SrtpStreamFactory* srtp_ = nullptr;
  const std::atomic<uint64_t>* clock_ = nullptr;
  std::unordered_map<uint64_t, std::unique_ptr<MediaSession>>
      sessions_;  // by id: Add and Remove in O(1)
  void AddRelayAddress(const MediaEndpoint& local);

  // MayBeMedia's quick filter: the range of relay ports ever added, and the relay
  // addresses ever used (a handful: media.service_addresses). Written by the control
  // lcore (an address before the count that shows it), read by workers.
  static constexpr size_t kMaxRelayAddresses = 8;
  std::atomic<uint16_t> min_port_{0xffff}, max_port_{0};
  std::array<MediaEndpoint, kMaxRelayAddresses> relay_addresses_{};
  std::atomic<uint8_t> relay_address_count_{0};
  std::atomic<bool> any_relay_address_{false};  // more than kMaxRelayAddresses: ports only
};

}  // namespace sbc::dataplane
