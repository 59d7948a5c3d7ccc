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
// to the owner through the owner's ring (see Worker) and writes nothing of it.
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

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/media/media_spec.h"
#include "sbc/dataplane/srtp/srtp_stream.h"

struct rte_rcu_qsbr;

namespace sbc::dataplane {

// The workers' runtime layout of a session and of its relay ports: private to the
// media feature (src/media_session.h), opaque to everyone else.
struct MediaSession;
struct MediaPort;
struct MediaSessionChange;

// In the order the relay touches them: a packet from the leg writes the first three,
// one to the leg the next two. The owner writes them with AddShared.
struct MediaLegCounters {
  uint64_t packets_in = 0, bytes_in = 0;    // accepted from the leg
  uint64_t wrong_source = 0;                // from other than the leg's remote
  uint64_t packets_out = 0, bytes_out = 0;  // relayed to the leg
  uint64_t latches = 0;                     // times the remote was learnt
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
  // both ways on a leg that had none. The session stays on the workers' path: its
  // owner applies the change between two bursts (ApplyChangesFor), as the one writer
  // of its runtime state, so no packet is dropped for it and nothing is raced. Returns
  // once it is applied: within two grace periods, or at once if the owner is not
  // polling (then this lcore applies it).
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
  // Workers, between bursts: applies the change Update() is waiting on if it is to a
  // session `worker` owns. One load when there is none.
  void ApplyChangesFor(uint8_t worker) const noexcept;
  // Workers: whether such a change waits (ApplyChangesFor would apply one).
  [[nodiscard]] bool ChangePendingFor(uint8_t worker) const noexcept;
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
  // Has `change` applied by its session's owner, or by this lcore if none polls.
  void ApplyByOwner(MediaSessionChange& change);

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

  // The change Update() waits on, for its owner to take (workers see the table const).
  mutable std::atomic<MediaSessionChange*> pending_change_{nullptr};
};

}  // namespace sbc::dataplane
