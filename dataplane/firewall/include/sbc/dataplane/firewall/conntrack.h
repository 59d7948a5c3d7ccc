// Connection tracking's tables: one set per worker (symmetric RSS brings both
// directions of a flow to the same worker, so each table has a single writer and needs
// no lock). ConnectionTracker (connection_tracker.h) keeps them.
#pragma once

#include <rte_meter.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/firewall/tcp_state.h"

struct rte_hash;

namespace sbc::dataplane {

// Both directions of a flow map to the same key: endpoint A is the lower of the two
// (address, port) pairs. The zones each endpoint is reached in are part of it, so a
// flow between two zones is never matched by packets crossing another zone boundary
// with the same addresses and ports.
// 8-byte aligned wherever it lives: rte_hash_crc reads keys in 8-byte words.
struct alignas(8) FlowKey {
  uint8_t family;
  uint8_t protocol;
  uint8_t zone_a, zone_b;  // the zone endpoint A's packets come from, and B's
  uint16_t port_a, port_b;
  uint8_t addr_a[16];
  uint8_t addr_b[16];
};
static_assert(sizeof(FlowKey) == 40);

struct FlowEntry {
  uint64_t last_seen_tsc;
  uint32_t rule;        // index of the rule that allowed the first packet
  uint32_t generation;  // tables generation the flow was last checked against
  FlowState state;
  bool originator_is_a;
  uint8_t from_zone, to_zone;  // of the originator's direction
};
// Kept small: the tables are far larger than the caches, and each lookup touches one.
static_assert(sizeof(FlowEntry) == 24);

// Builds the canonical key of a parsed packet that came from `from_zone` towards
// `to_zone`; `is_a` says whether the packet's source is endpoint A. Worker thread.
FlowKey MakeFlowKey(const PacketMeta& meta, uint8_t from_zone, uint8_t to_zone,
                    bool* is_a) noexcept;

struct alignas(8) SourceKey {
  uint8_t family;
  uint8_t pad[3];
  uint8_t addr[16];
  uint8_t pad2[4];  // named, so that `SourceKey k{}` zeroes every byte the hash reads
};
static_assert(sizeof(SourceKey) == 24);

struct SourceEntry {
  uint32_t flows;
  uint32_t half_open;         // of its flows, TCP connections not yet established
  uint32_t meter_generation;  // 0: meter not configured yet
  rte_meter_srtcm meter;      // new-flow rate of this source
};

// A fixed-capacity hash table of FlowEntry (or SourceEntry) by key. Worker thread
// only, except Create (control thread).
template <typename Key, typename Entry>
class Table {
 public:
  [[nodiscard]] static std::expected<std::unique_ptr<Table>, std::string> Create(
      const std::string& name, uint32_t capacity);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // Position of `key`, or -1.
  int32_t Find(const Key& key) const noexcept;
  // Positions (or -1) of up to 64 keys at once: rte_hash prefetches every bucket
  // before comparing, so cache misses overlap instead of queueing.
  void FindBulk(const Key* const* keys, uint32_t n, int32_t* positions) const noexcept;
  // Brings an entry towards the cache ahead of use.
  void Prefetch(int32_t position) const noexcept;
  // Adds `key` (absent) and returns its position, or -1 when full.
  int32_t Add(const Key& key) noexcept;
  void Remove(int32_t position) noexcept;
  // Whether `position` holds an entry now.
  bool occupied(int32_t position) const noexcept {
    return (occupied_[static_cast<uint32_t>(position) / 64] >> (position % 64)) & 1;
  }
  Entry& at(int32_t position) noexcept { return entries_[position]; }
  const Entry& at(int32_t position) const noexcept { return entries_[position]; }
  const Key& key(int32_t position) const noexcept;
  uint32_t size() const noexcept { return size_; }
  uint32_t capacity() const noexcept { return capacity_; }
  // Positions run from 0 to below this.
  uint32_t positions() const noexcept { return static_cast<uint32_t>(entries_.size()); }
  // The occupied positions among the next 64 from the sweep cursor (which then moves
  // on, wrapping at the end): up to 64 into `positions`, their count returned. The
  // cost is bounded by positions looked at, not entries found, so a sparse or empty
  // table costs a sweep as little as a full one.
  uint32_t NextForSweep(int32_t* positions) noexcept;

 private:
  Table() = default;
  rte_hash* hash_ = nullptr;
  std::vector<Entry> entries_;
  std::vector<uint64_t> occupied_;  // bit per position
  uint32_t capacity_ = 0;
  uint32_t size_ = 0;
  uint32_t sweep_cursor_ = 0;
};

using FlowTable = Table<FlowKey, FlowEntry>;
using SourceTable = Table<SourceKey, SourceEntry>;

}  // namespace sbc::dataplane
