// Sampled, rate-limited records of dropped packets (and of new flows of rules marked
// `log`), from a worker to the control thread. The worker never blocks or allocates:
// a record goes into a single-producer ring if the worker's log meter allows, and is
// otherwise only counted as suppressed.
#pragma once

#include <rte_meter.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "sbc/dataplane/core/drop_reasons.h"
#include "sbc/dataplane/core/packet.h"

struct rte_ring;

namespace sbc::dataplane {

struct PacketLogRecord {
  Family family;
  uint8_t protocol;
  DropReason reason;  // kNotDropped: an allowed new flow of a logged rule
  uint8_t in_slot;    // board port index it entered by
  uint32_t rule;      // allowed: the rule's index
  uint8_t src[16];
  uint8_t dst[16];
  uint16_t src_port;  // as PacketMeta: ICMP type << 8 | code
  uint16_t dst_port;
};
static_assert(sizeof(PacketLogRecord) % 4 == 0, "rte_ring elements are 4-byte multiples");

class PacketLog {
 public:
  // Control thread. `capacity` records (power of two) waiting for the control thread;
  // at most `per_second` records (bursts of `burst`) leave the worker.
  [[nodiscard]] static std::expected<std::unique_ptr<PacketLog>, std::string> Create(
      const std::string& name, uint32_t capacity, uint32_t per_second, uint32_t burst);
  ~PacketLog();
  PacketLog(const PacketLog&) = delete;
  PacketLog& operator=(const PacketLog&) = delete;

  // Worker thread (the single producer).
  void Record(const PacketMeta& meta, DropReason reason, uint8_t in_slot, uint32_t rule,
              uint64_t now_tsc) noexcept;
  // Control thread (the single consumer): up to `max` records into `out`.
  unsigned Drain(PacketLogRecord* out, unsigned max) noexcept;
  // Records the meter or a full ring kept back. Any thread.
  uint64_t suppressed() const noexcept;

 private:
  PacketLog() = default;
  rte_ring* ring_ = nullptr;
  rte_meter_srtcm meter_{};
  rte_meter_srtcm_profile profile_{};
  uint64_t suppressed_ = 0;
};

}  // namespace sbc::dataplane
