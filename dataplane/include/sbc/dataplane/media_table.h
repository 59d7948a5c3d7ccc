// The media sessions the relay anchors. A session has two legs; each leg has a relay
// address and port of ours (RTP, and RTCP on port+1 unless muxed), a remote (given,
// or latched), the data port it lives on, and optional SRTP keys: the leg's own key
// for what it sends us, ours for what we send it.
//
// The control lcore adds and removes sessions; workers look them up by (relay
// address, port) in an rte_hash with lock-free readers, and a removed session is
// freed only after an rte_rcu_qsbr grace period (the same QSBR variable the rule
// tables use), so creating or deleting a session never stalls a worker.
//
// A leg's runtime state (latched remote, link address, SRTP windows, counters) is
// written by the one worker its packets reach (symmetric RSS) and read by the control
// lcore with relaxed loads for counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sbc/dataplane/packet.h"
#include "sbc/dataplane/rtp_stats.h"
#include "sbc/dataplane/srtp_stream.h"

struct rte_hash;
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

// Plain RTP has nothing to authenticate, so whether an unknown remote may be learnt
// from the first packet is the operator's policy.
enum class PlainLatching : uint8_t { kFirstPacket, kNever };

struct MediaLegSpec {
  MediaEndpoint local;                  // our relay address and RTP port
  bool rtcp_mux = false;                // RTCP on the RTP port (else port + 1)
  std::optional<MediaEndpoint> remote;  // the leg's RTP address; RTCP at port + 1 unless muxed
  uint8_t port_slot = 0;                // the data port (slot) the leg is reached through
  PlainLatching plain_latching = PlainLatching::kFirstPacket;
  uint32_t clock_rate = 8000;           // RTP timestamp units per second, for jitter
  // SRTP: the leg's key (for what it sends) and ours (for what we send it); both or neither.
  std::optional<SrtpStreamKeys> srtp_from_leg, srtp_to_leg;
};

struct MediaSessionSpec {
  uint64_t id = 0;
  std::array<MediaLegSpec, 2> legs;
};

struct MediaLegCounters {
  uint64_t packets_in = 0, bytes_in = 0;    // accepted from the leg
  uint64_t packets_out = 0, bytes_out = 0;  // relayed to the leg
  uint64_t wrong_source = 0;                // from other than the leg's remote
  uint64_t latches = 0;                     // times the remote was learnt
};

// Runtime state of one leg (see the header comment for who writes what).
struct MediaLeg {
  MediaLegSpec spec;
  bool remote_known = false;
  MediaEndpoint remote;          // RTP; RTCP at remote.port + 1 unless muxed
  bool link_known = false;
  std::array<uint8_t, 6> link{};  // the remote's (or its router's) MAC, learnt from its packets
  bool srtp = false;
  SrtpStream from_leg, to_leg;
  RtpReceptionStats rtp_stats;
  MediaLegCounters counters;
};

struct MediaSession;

// What a relay port maps to.
struct MediaPort {
  MediaSession* session = nullptr;
  uint8_t leg = 0;
  bool rtcp = false;
  MediaEndpoint local;
};

struct MediaSession {
  uint64_t id = 0;
  std::array<MediaLeg, 2> legs;
  std::atomic<uint64_t> last_active_tsc{0};
  std::array<MediaPort, 4> ports;  // RTP and (unless muxed) RTCP of each leg; the hash points here
  uint8_t port_count = 0;
};

class MediaTable {
 public:
  // Control lcore. Room for `max_sessions`; `qsbr` is the workers' QSBR variable.
  [[nodiscard]] static std::expected<std::unique_ptr<MediaTable>, std::string> Create(
      uint32_t max_sessions, rte_rcu_qsbr* qsbr, SrtpStreamFactory* srtp);
  ~MediaTable();
  MediaTable(const MediaTable&) = delete;
  MediaTable& operator=(const MediaTable&) = delete;

  // Control lcore. Refuses a duplicate id, a relay port already in use, legs of
  // different address families, and SRTP keys given one way only; builds the SRTP
  // streams. The session is live when this returns.
  [[nodiscard]] std::expected<void, std::string> Add(const MediaSessionSpec& spec);
  // Control lcore. Unhooks the session, waits for a grace period, frees it.
  [[nodiscard]] bool Remove(uint64_t id);
  // Control lcore: sessions idle (no packet either way) for at least `idle_tsc` at
  // `now_tsc`, removed; returns their ids.
  std::vector<uint64_t> RemoveIdle(uint64_t now_tsc, uint64_t idle_tsc);
  // Control lcore: the sessions, for listing; valid until the next Add/Remove.
  std::vector<const MediaSession*> Sessions() const;

  // Workers. The relay port `local` (address family, address, port), or nullptr.
  [[nodiscard]] const MediaPort* Find(const MediaEndpoint& local) const noexcept;
  // Workers. Find() for up to 64 relay ports at once (the hash prefetches its buckets).
  void FindBulk(const MediaEndpoint* const* locals, uint32_t count, const MediaPort** found) const noexcept;
  // Workers: could this be media? (UDP to a port in the relay range seen so far).
  [[nodiscard]] bool MayBeMedia(const PacketMeta& meta) const noexcept;

  size_t size() const { return sessions_.size(); }

 private:
  MediaTable() = default;
  void Free(std::unique_ptr<MediaSession> session);

  rte_hash* hash_ = nullptr;
  rte_rcu_qsbr* qsbr_ = nullptr;
  SrtpStreamFactory* srtp_ = nullptr;
  std::unordered_map<uint64_t, std::unique_ptr<MediaSession>> sessions_;  // by id: Add and Remove in O(1)
  // MayBeMedia's quick filter: the range of relay ports ever added.
  std::atomic<uint16_t> min_port_{0xffff}, max_port_{0};
};

}  // namespace sbc::dataplane
