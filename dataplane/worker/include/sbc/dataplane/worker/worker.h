// One worker core's pipeline, for each link (one direction of a port pair): receive ->
// the input step (parse; martian, TCP-flag and neighbour-discovery checks;
// anti-spoofing) which gives every packet one next: drop (with its reason), the
// own-address stage, the media relay stage, the firewall stage (connection tracking,
// allowlist, meters, table limits) or bridge (ARP for another host) -> each stage
// over its own packets, in that fixed order -> one transmit step. Every dropped packet
// is counted under exactly one reason; passed packets are counted per rule. Nothing
// here allocates, locks, logs or throws.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sbc/dataplane/core/counters.h"
#include "sbc/dataplane/core/shared_field.h"
#include "sbc/dataplane/core/table_slot.h"
#include "sbc/dataplane/core/wire_worker.h"
#include "sbc/dataplane/firewall/firewall_stage.h"
#include "sbc/dataplane/firewall/firewall_tables.h"
#include "sbc/dataplane/firewall/own_address_stage.h"
#include "sbc/dataplane/firewall/packet_log.h"
#include "sbc/dataplane/media/media_relay.h"

struct rte_ring;

namespace sbc::dataplane {

// The media relay a worker runs besides the firewall (optional): the sessions, the
// crypto device queue pair that is this worker's alone, and with several workers one
// ring per worker (indexed by worker) through which a worker hands a packet to the
// owner of its session (multi-producer, single-consumer; the owner relays it).
struct MediaStage {
  const MediaTable* table = nullptr;
  MediaCrypto crypto;
  std::span<rte_ring* const> handoff;  // empty with one worker
};

class Worker {
 public:
  // Control thread, before launch. `thread_id` is the worker's RCU reader id
  // (0..max_workers-1 of `slot`) and its index among workers; `flow_capacity` sizes
  // its connection table. With `media`, UDP to a relay port goes to the media relay
  // instead of the rules. `clock` (tests): the time in TSC ticks the worker reads
  // instead of the TSC, so a test moves time itself; nullptr: the TSC.
  [[nodiscard]] static std::expected<std::unique_ptr<Worker>, std::string> Create(
      std::span<const WireLink> links, FirewallTableSlot& slot, uint32_t thread_id,
      uint32_t flow_capacity, const MediaStage* media = nullptr,
      const std::atomic<uint64_t>* clock = nullptr);

  // Worker lcore. Registers with RCU, polls until `stop`, drains (as WireWorker
  // does, and the crypto device's packets), and goes offline. Reports a quiescent
  // state after every poll in which the crypto device holds none of its packets (and,
  // when a grace period waits on it, waits for them first).
  void Run(const std::atomic<bool>& stop) noexcept;

  // Worker lcore. One pass over every link and the hand-off ring, plus a slice of the
  // expiry sweep; returns the frames received. Callers outside Run() must not race a
  // Publish.
  uint32_t PollOnce() noexcept;

  // Any thread, read with relaxed atomics while the worker runs.
  const WorkerCounters& counters() const { return counters_; }
  std::span<const RuleCounter> rule_counters() const { return firewall_->rule_counters(); }
  uint64_t flows() const;  // entries in this worker's connection table
  // Polls this worker has finished (any thread): its heartbeat. A worker that stops
  // counting is hung, whatever its process still answers (firmware/boot's liveness).
  uint64_t polls() const { return LoadShared(polls_); }
  // Control thread: this worker's sampled drop/allow records.
  PacketLog& log() { return firewall_->log(); }

 private:
  struct Burst;
  Worker() = default;
  uint64_t Now() const noexcept;
  uint32_t Forward(const WireLink& link, const FirewallTables* tables, uint64_t now) noexcept;
  // The input step: parses and checks frames[0..n) and routes each to its next.
  void Input(const FirewallTables* tables, rte_mbuf** frames, uint16_t n, DropReason whole_burst,
             uint8_t from_zone, uint8_t to_zone, Burst& burst) noexcept;
  // The media stage: relay-port packets through the relay; another worker's handed on.
  void RelayMedia(const FirewallTables& tables, rte_mbuf** frames, Burst& burst,
                  uint64_t now) noexcept;
  // The transmit step: what passed to its port, replies back out, the rest counted and
  // freed.
  void Emit(const WireLink& link, rte_mbuf** frames, uint16_t n, const Burst& burst,
            uint64_t now) noexcept;
  // Packets other workers handed to this one (the owner of their sessions).
  uint32_t TakeHandedOff(const FirewallTables* tables, uint64_t now) noexcept;
  void Transmit(uint16_t port_id, uint16_t queue, uint8_t slot, rte_mbuf** frames,
                uint16_t count) noexcept;
  // Relayed media to the legs' ports, the rest counted and freed (the crypto device's
  // lost packets only counted).
  void SendMedia(rte_mbuf** frames, const DropReason* verdicts, const uint8_t* tx_slots,
                 uint16_t n) noexcept;
  // The media relay's packets of earlier bursts, decided since (MediaRelay::late()).
  void EmitLate() noexcept;
  // What the crypto device has finished (with `wait`, everything it holds), and any
  // late packets the relay decided before, sent. Two loads when there is none.
  void FinishMedia(const FirewallTables* tables, bool wait) noexcept;
  static std::span<const rte_ether_addr> PortMacs(const FirewallTables* tables) noexcept;

  WorkerCounters counters_;
  std::unique_ptr<FirewallStage> firewall_;
  OwnAddressStage own_address_;
  uint64_t flow_count_ = 0;  // mirrors the connection table's size for readers on other threads
  uint64_t polls_ = 0;       // single writer: this worker, once per PollOnce
  FirewallTableSlot* slot_ = nullptr;
  uint32_t thread_id_ = 0;
  const std::atomic<uint64_t>* clock_ = nullptr;
  std::array<WireLink, kMaxLinks> links_{};
  size_t link_count_ = 0;
  std::unique_ptr<MediaRelay> media_;
  const MediaTable* media_table_ = nullptr;
  std::span<rte_ring* const> handoff_;                 // by worker; empty with one worker
  std::array<uint16_t, kMaxPorts> port_id_of_slot_{};  // for media, which leaves by its leg's port
};

}  // namespace sbc::dataplane
