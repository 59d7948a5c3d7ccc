// The firewall pipeline of one worker: for each link (one direction of a port pair),
// parse -> martian and anti-spoofing checks -> connection lookup -> allowlist
// (rte_acl, first match, default deny) -> meters and table limits -> forward.
// Every dropped packet is counted under exactly one reason; passed packets are
// counted per rule. Nothing here allocates, locks, logs or throws.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sbc/dataplane/conntrack.h"
#include "sbc/dataplane/counters.h"
#include "sbc/dataplane/firewall_tables.h"
#include "sbc/dataplane/media_relay.h"
#include "sbc/dataplane/packet_log.h"
#include "sbc/dataplane/table_slot.h"
#include "sbc/dataplane/wire_worker.h"

namespace sbc::dataplane {

// Most rules a rule set may hold (mgmt/config enforces it too).
inline constexpr size_t kMaxRules = 65535;

struct RuleCounter {
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

// The media relay a worker runs besides the firewall (optional): the sessions, and
// the crypto device queue pair that is this worker's alone.
struct MediaStage {
  const MediaTable* table = nullptr;
  MediaCrypto crypto;
};

class FirewallWorker {
 public:
  // Control thread, before launch. `thread_id` is the worker's RCU reader id
  // (0..max_workers-1 of `slot`); `flow_capacity` sizes its connection table. With
  // `media`, UDP to a relay port goes to the media relay instead of the rules.
  [[nodiscard]] static std::expected<std::unique_ptr<FirewallWorker>, std::string> Create(
      std::span<const WireLink> links, TableSlot& slot, uint32_t thread_id,
      uint32_t flow_capacity, const MediaStage* media = nullptr);

  // Worker lcore. Registers with RCU, polls until `stop`, drains (as WireWorker
  // does), and goes offline. Reports a quiescent state after every poll.
  void Run(const std::atomic<bool>& stop) noexcept;

  // Worker lcore. One pass over every link plus a slice of the expiry sweep;
  // returns the frames received. Callers outside Run() must not race a Publish.
  uint32_t PollOnce() noexcept;

  // Any thread, read with relaxed atomics while the worker runs.
  const WorkerCounters& counters() const { return counters_; }
  std::span<const RuleCounter> rule_counters() const { return rule_counters_; }
  uint64_t flows() const;  // entries in this worker's connection table
  // Control thread: this worker's sampled drop/allow records.
  PacketLog& log() { return *log_; }

 private:
  FirewallWorker() = default;
  uint32_t Forward(const WireLink& link, const FirewallTables* tables, uint64_t now) noexcept;
  void Transmit(uint16_t port_id, uint16_t queue, uint8_t slot, rte_mbuf** frames, uint16_t count) noexcept;
  void Sweep(const FirewallTables* tables, uint64_t now) noexcept;
  void RemoveFlow(int32_t position) noexcept;
  void SyncMeters(const FirewallTables* tables) noexcept;
  bool RuleMeterAllows(const FirewallTables* tables, uint32_t rule, uint64_t now) noexcept;
  DropReason CreateFlow(const FirewallTables* tables, const FlowKey& key, bool source_is_a,
                        const PacketMeta& meta, uint32_t rule, uint8_t from_zone,
                        uint8_t to_zone, uint64_t now, int32_t* position) noexcept;
  DropReason TrackExisting(FlowEntry& entry, bool from_originator, const PacketMeta& meta,
                           bool* remove_after) noexcept;
  bool StillAllowed(const FirewallTables* tables, int32_t position) noexcept;

  WorkerCounters counters_;
  std::vector<RuleCounter> rule_counters_;
  std::vector<rte_meter_srtcm> rule_meters_;
  rte_meter_srtcm own_address_meter_{};
  uint32_t meters_generation_ = 0;
  std::unique_ptr<FlowTable> flows_;
  std::unique_ptr<SourceTable> sources_;
  std::unique_ptr<PacketLog> log_;
  uint64_t flow_count_ = 0;  // mirrors flows_->size() for readers on other threads
  uint32_t half_open_ = 0;
  TableSlot* slot_ = nullptr;
  uint32_t thread_id_ = 0;
  std::array<WireLink, kMaxLinks> links_{};
  size_t link_count_ = 0;
  std::unique_ptr<MediaRelay> media_;
  const MediaTable* media_table_ = nullptr;
  std::array<uint16_t, kMaxPorts> port_id_of_slot_{};  // for media, which leaves by its leg's port
};

}  // namespace sbc::dataplane
