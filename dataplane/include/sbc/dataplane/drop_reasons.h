// Every reason the dataplane drops a packet, declared once. The X-macro generates the
// enum, the counter slots and the names operators see, so a new reason cannot be
// counted without also being named.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sbc::dataplane {

// X(enumerator, name shown in counters, what it means)
#define SBC_DROP_REASONS(X)                                                          \
  X(kRuntFrame, "runt_frame", "frame shorter than an Ethernet header")               \
  X(kTxQueueFull, "tx_queue_full", "the egress port's transmit queue had no room")

enum class DropReason : uint8_t {
#define SBC_DROP_REASON_ENUM(id, name, help) id,
  SBC_DROP_REASONS(SBC_DROP_REASON_ENUM)
#undef SBC_DROP_REASON_ENUM
};

inline constexpr size_t kDropReasonCount = 0
#define SBC_DROP_REASON_COUNT(id, name, help) +1
    SBC_DROP_REASONS(SBC_DROP_REASON_COUNT)
#undef SBC_DROP_REASON_COUNT
    ;

// The counter name, e.g. "runt_frame". Any thread.
[[nodiscard]] std::string_view DropReasonName(DropReason reason);
// One line for operators, e.g. "frame shorter than an Ethernet header". Any thread.
[[nodiscard]] std::string_view DropReasonHelp(DropReason reason);

}  // namespace sbc::dataplane
