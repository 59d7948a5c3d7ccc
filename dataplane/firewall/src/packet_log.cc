#include "sbc/dataplane/firewall/packet_log.h"

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>
#include <cstring>

namespace sbc::dataplane {

std::expected<std::unique_ptr<PacketLog>, std::string> PacketLog::Create(const std::string& name,
                                                                         uint32_t capacity,
                                                                         uint32_t per_second,
                                                                         uint32_t burst) {
  std::unique_ptr<PacketLog> log(new PacketLog());
  log->ring_ =
      rte_ring_create_elem(name.c_str(), sizeof(PacketLogRecord), capacity,
                           static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (log->ring_ == nullptr)
    return std::unexpected("cannot create packet log " + name + ": " + rte_strerror(rte_errno));
  // Records per second counted as "bytes" of length 1, as the rule meters do.
  rte_meter_srtcm_params params{.cir = per_second, .cbs = burst, .ebs = 0};
  if (rte_meter_srtcm_profile_config(&log->profile_, &params) != 0 ||
      rte_meter_srtcm_config(&log->meter_, &log->profile_) != 0)
    return std::unexpected("packet log " + name + ": invalid rate");
  return log;
}

PacketLog::~PacketLog() { rte_ring_free(ring_); }

void PacketLog::Record(const PacketMeta& meta, DropReason reason, uint8_t in_slot, uint32_t rule,
                       uint64_t now_tsc) noexcept {
  std::atomic_ref<uint64_t> suppressed(suppressed_);
  if (rte_meter_srtcm_color_blind_check(&meter_, &profile_, now_tsc, 1) != RTE_COLOR_GREEN) {
    suppressed.store(suppressed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  PacketLogRecord r{};
  r.family = meta.family;
  r.protocol = meta.protocol;
  r.reason = reason;
  r.in_slot = in_slot;
  r.rule = rule;
  std::memcpy(r.src, meta.src.data(), 16);
  std::memcpy(r.dst, meta.dst.data(), 16);
  r.src_port = meta.src_port;
  r.dst_port = meta.dst_port;
  if (rte_ring_sp_enqueue_elem(ring_, &r, sizeof(r)) != 0)
    suppressed.store(suppressed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

unsigned PacketLog::Drain(PacketLogRecord* out, unsigned max) noexcept {
  return rte_ring_sc_dequeue_burst_elem(ring_, out, sizeof(PacketLogRecord), max, nullptr);
}

uint64_t PacketLog::suppressed() const noexcept {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(suppressed_))
      .load(std::memory_order_relaxed);
}

}  // namespace sbc::dataplane
