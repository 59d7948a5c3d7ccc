// The media relay stage of one worker: UDP packets to a relay port are taken from the
// firewall path and, per their session's leg, checked against the leg's remote
// (latching an unknown remote only on a packet that authenticates, or for plain RTP
// as the leg's policy says), unprotected, protected for the other leg, readdressed
// from our relay port to the other leg's remote, and handed back for transmission on
// that leg's data port. RTCP rides along (muxed, or on port + 1).
//
// Crypto goes through this worker's SrtpBatch: each burst's packets are submitted in
// one enqueue, and the relay does not wait for the device. What it has finished by the
// end of Process() is decided there, in the caller's burst; what it still holds is
// `held` and comes out of a later Poll() (or Drain()) as a Late packet, unprotected,
// protected for the other leg (a second trip to the device) and readdressed then. A
// software device answers within the call, so nothing is late; a device of the QAT
// kind answers in a later poll, and the core relays other packets meanwhile. While
// anything is out (busy()), the relay holds pointers into its sessions: the worker
// reports no quiescent state then, and drains first when the control lcore waits for
// one. Nothing is allocated, locked or thrown per packet.
//
// What is not media is refused before any session state is touched: IP fragments
// (media is never fragmented), UDP lengths the frame does not hold, and packets of a
// session another worker owns (handed back to the caller, which passes them on to
// the owner). The relayed packet is ours: a fresh IP header (no options, no extension
// headers, not a fragment) from our relay address.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include <rte_ether.h>

#include "sbc/dataplane/core/drop_reasons.h"
#include "sbc/dataplane/core/packet.h"
#include "sbc/dataplane/media/media_table.h"
#include "sbc/dataplane/srtp/srtp_batch.h"

struct rte_mbuf;

namespace sbc::dataplane {

struct MediaCrypto {
  uint8_t device = 0;
  uint16_t queue_pair = 0;
  rte_mempool* op_pool = nullptr;
  rte_mempool* session_pool = nullptr;
  ExtraSessionBudget* extra_sessions = nullptr;  // see SrtpBatch
  CryptoQueue* queue = nullptr;                  // tests: a double for the queue pair
  uint32_t collect_bound_us = SrtpBatch::kCollectBoundUs;
};

class MediaRelay {
 public:
  // A packet of an earlier burst that the crypto device has finished: as Process()
  // would have decided it. frame is nullptr with kMediaCryptoLost (the device's).
  struct Late {
    rte_mbuf* frame;
    DropReason verdict;  // kNotDropped: send it on tx_slot
    uint8_t tx_slot;
  };
  // The most packets the relay keeps at once (with the device, or being decided).
  static constexpr uint16_t kMaxHeld = SrtpBatch::kOps + SrtpBatch::kMaxBurst;

  // `worker` is this worker's index: the sessions it owns are the ones it relays.
  MediaRelay(const MediaTable& table, const MediaCrypto& crypto, uint8_t worker = 0);
  ~MediaRelay();
  MediaRelay(const MediaRelay&) = delete;
  MediaRelay& operator=(const MediaRelay&) = delete;

  // frames[which[k]] for k < count are UDP packets for which table.MayBeMedia() held.
  // For each, sets verdict[which[k]]: kNotDropped and tx_slot[which[k]] when it was
  // relayed (rewritten in place, possibly shorter: IP options go), else why it must be
  // dropped; kMediaOtherWorker with tx_slot[which[k]] = the owner's index when the
  // packet is another worker's to relay (nothing was written for it); kMediaCryptoLost
  // with frames[which[k]] set to nullptr when the crypto device kept the packet past
  // its bound (not the caller's to free: the SRTP batch frees it if it comes back).
  // held[which[k]]: the crypto device still has it; the relay owns it now, and it
  // comes out of a later Poll() (verdict and tx_slot are not set). `port_macs` are the
  // data ports' own addresses, by slot. Worker lcore.
  void Process(rte_mbuf** frames, const PacketMeta* meta, const uint16_t* which, uint16_t count,
               std::span<const rte_ether_addr> port_macs, uint64_t now_tsc, DropReason* verdict,
               uint8_t* tx_slot, bool* held) noexcept;

  // What the device has finished since, never waiting (Drain(): waiting, within the
  // SRTP batch's bound, until it holds nothing): decided into late(). `port_macs` as
  // for Process(), from the tables in use now.
  void Poll(std::span<const rte_ether_addr> port_macs) noexcept { Collect(port_macs, false); }
  void Drain(std::span<const rte_ether_addr> port_macs) noexcept { Collect(port_macs, true); }
  // Packets of earlier bursts decided since the last TakeLate(): the caller sends or
  // drops (and frees) them, then calls TakeLate().
  std::span<const Late> late() const { return {late_, late_count_}; }
  void TakeLate() noexcept { late_count_ = 0; }

  // Packets held, so pointers into their sessions and streams.
  bool busy() const { return batch_.in_flight() != 0; }

  // Between bursts (the start of a poll): applies a pending change to one of this
  // worker's sessions (MediaTable::Update), draining first if the device holds packets
  // (they point into the streams the change replaces).
  void ApplySessionChanges(std::span<const rte_ether_addr> port_macs = {}) noexcept;

 private:
  struct Work;
  struct Burst;
  // Per packet, from its checks to its verdict: see media_relay.cc.
  void Start(Work& w) noexcept;
  void Accept(Work& w) noexcept;
  void Queue(Work& w, bool protect) noexcept;
  void Submit() noexcept;
  void Done(const SrtpDone& done) noexcept;
  void Readdress(Work& w) noexcept;
  void Decide(Work& w, DropReason verdict) noexcept;
  void Collect(std::span<const rte_ether_addr> port_macs, bool wait) noexcept;

  const MediaTable& table_;
  SrtpBatch batch_;
  uint8_t worker_;
  std::unique_ptr<Work[]> work_;  // kMaxHeld
  uint16_t free_work_[kMaxHeld];
  uint16_t free_work_count_ = 0;
  Burst* burst_ = nullptr;  // the caller's, during Process()
  std::span<const rte_ether_addr> port_macs_;
  uint32_t burst_number_ = 0;
  bool protect_queued_ = false;  // since the last Submit(): their sessions are not asked for
  Late late_[kMaxHeld];
  uint16_t late_count_ = 0;
};

}  // namespace sbc::dataplane
