// The media relay stage of one worker: UDP packets to a relay port are taken from the
// firewall path and, per their session's leg, checked against the leg's remote
// (latching an unknown remote only on a packet that authenticates, or for plain RTP
// as the leg's policy says), unprotected, protected for the other leg, readdressed
// from our relay port to the other leg's remote, and handed back for transmission on
// that leg's data port. RTCP rides along (muxed, or on port + 1).
//
// Crypto goes through this worker's SrtpBatch in two passes per burst (unprotect,
// then protect). Nothing is allocated, locked or thrown per packet.
//
// What is not media is refused before any session state is touched: IP fragments
// (media is never fragmented), UDP lengths the frame does not hold, and packets of a
// session another worker owns (handed back to the caller, which passes them on to
// the owner). The relayed packet is ours: a fresh IP header (no options, no extension
// headers, not a fragment) from our relay address.
#pragma once

#include <array>
#include <cstdint>
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
  // `worker` is this worker's index: the sessions it owns are the ones it relays.
  MediaRelay(const MediaTable& table, const MediaCrypto& crypto, uint8_t worker = 0);

  // frames[which[k]] for k < count are UDP packets for which table.MayBeMedia() held.
  // For each, sets verdict[which[k]]: kNotDropped and tx_slot[which[k]] when it was
  // relayed (rewritten in place, possibly shorter: IP options go), else why it must be
  // dropped; kMediaOtherWorker with tx_slot[which[k]] = the owner's index when the
  // packet is another worker's to relay (nothing was written for it); kMediaCryptoLost
  // with frames[which[k]] set to nullptr when the crypto device kept the packet past
  // its bound (not the caller's to free: the SRTP batch frees it if it comes back).
  // `port_macs` are the data ports' own addresses, by slot. Worker lcore.
  void Process(rte_mbuf** frames, const PacketMeta* meta, const uint16_t* which, uint16_t count,
               std::span<const rte_ether_addr> port_macs, uint64_t now_tsc, DropReason* verdict,
               uint8_t* tx_slot) noexcept;

  // Between bursts (the start of a poll): applies a pending change to one of this
  // worker's sessions (MediaTable::Update).
  void ApplySessionChanges() noexcept { table_.ApplyChangesFor(worker_); }

 private:
  struct Work;
  const MediaTable& table_;
  SrtpBatch batch_;
  uint8_t worker_;
};

}  // namespace sbc::dataplane
