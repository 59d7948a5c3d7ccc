// Synthetic traffic for the sim board: Ethernet/IPv4/UDP frames of mixed sizes over
// many flows, each stamped with a sequence number so a receiver can tell exactly
// which frames arrived. Used by the sim demo and by tests; benches use their own
// prebuilt, recycled packets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

struct rte_mbuf;
struct rte_mempool;

namespace sbc::drivers::nic {

enum class Direction : uint8_t {
  kForward,  // client -> server: sent into a pair's port a
  kReply,    // server -> client, the same flows reversed: sent into port b
};

class SimTraffic {
 public:
  // Frame sizes without FCS, cycled in order: 64..1518-byte frames on the wire.
  static constexpr std::array<uint16_t, 7> kFrameSizes = {60, 124, 252, 508, 1020, 1276, 1514};
  // Shorter than an Ethernet header: what a broken peer or cable might deliver.
  static constexpr uint16_t kRuntSize = 10;

  // `flows` distinct 5-tuples; every `runt_every`-th frame is a runt (0: none).
  SimTraffic(rte_mempool* pool, uint32_t flows, uint32_t runt_every = 0);

  // Allocates and fills up to `count` frames. Returns how many were built (fewer only
  // when the pool is empty). Single thread.
  [[nodiscard]] uint16_t Build(Direction direction, rte_mbuf** frames, uint16_t count) noexcept;

  // The sequence number Build() stamped into `frame`; nullopt for runts and frames not
  // built here. Any thread.
  [[nodiscard]] static std::optional<uint64_t> Sequence(const rte_mbuf* frame) noexcept;

  uint64_t built() const { return next_sequence_; }

 private:
  void Fill(rte_mbuf* frame, Direction direction, uint16_t size) noexcept;

  rte_mempool* pool_;
  uint32_t flows_;
  uint32_t runt_every_;
  uint64_t next_sequence_ = 0;
};

}  // namespace sbc::drivers::nic
