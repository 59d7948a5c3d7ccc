#include "sbc/dataplane/media/media_relay.h"

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include <cstring>

#include "media_session.h"
#include "sbc/dataplane/core/counters.h"

namespace sbc::dataplane {
namespace {

constexpr uint8_t kTtl = 64;  // we originate the relayed packet

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

bool SameAddress(const MediaEndpoint& e, const PacketMeta& m) {
  // Fixed lengths: each compare compiles to a load or two, where a length known only
  // at run time is a call into the C library per packet.
  if (e.family == Family::kIpv4) return std::memcmp(e.address.data(), m.src.data(), 4) == 0;
  return std::memcmp(e.address.data(), m.src.data(), 16) == 0;
}

// Why a packet the SRTP engine refused is dropped.
DropReason DropFor(SrtpResult r) {
  switch (r) {
    case SrtpResult::kAuthFailed:
      return DropReason::kMediaAuthFailed;
    case SrtpResult::kReplayed:
    case SrtpResult::kTooOld:
      return DropReason::kMediaReplayed;
    case SrtpResult::kMalformed:
      return DropReason::kMediaNotRtp;
    case SrtpResult::kDeviceLost:
      return DropReason::kMediaCryptoLost;
    default:
      return DropReason::kMediaCrypto;
  }
}

}  // namespace

// One packet from its checks to its verdict, in a slot of its own: with the crypto
// device it may outlive the burst it came in.
struct MediaRelay::Work {
  rte_mbuf* frame;  // nullptr: the device kept it (kMediaCryptoLost)
  const MediaPort* port;
  MediaLeg* in;
  MediaLeg* out;
  uint64_t arrival_tsc;
  PacketMeta meta;   // the caller's is gone by a later poll
  uint32_t burst;    // the Process() call it came in
  uint16_t index;    // in that call's burst
  uint16_t payload;  // offset of the RTP/RTCP packet in the frame
  bool rtcp;
  bool latch;       // the source is new: take it once the packet authenticates
  bool protecting;  // with the device for the other leg (else: from this one)
};

// The caller's burst during Process(): where this burst's verdicts go.
struct MediaRelay::Burst {
  rte_mbuf** frames;
  DropReason* verdict;
  uint8_t* tx_slot;
  bool* held;
};

MediaRelay::MediaRelay(const MediaTable& table, const MediaCrypto& crypto, uint8_t worker)
    : table_(table),
      batch_(crypto.device, crypto.queue_pair, crypto.op_pool, crypto.session_pool,
             {.budget = crypto.extra_sessions,
              .queue = crypto.queue,
              .collect_bound_us = crypto.collect_bound_us}),
      worker_(worker),
      work_(new Work[kMaxHeld]) {
  for (uint16_t i = 0; i < kMaxHeld; ++i) free_work_[i] = static_cast<uint16_t>(kMaxHeld - 1 - i);
  free_work_count_ = kMaxHeld;
}

MediaRelay::~MediaRelay() = default;

void MediaRelay::Process(rte_mbuf** frames, const PacketMeta* meta, const uint16_t* which,
                         uint16_t count, std::span<const rte_ether_addr> port_macs,
                         uint64_t now_tsc, DropReason* verdict, uint8_t* tx_slot,
                         bool* held) noexcept {
  Burst burst{frames, verdict, tx_slot, held};
  burst_ = &burst;
  port_macs_ = port_macs;
  ++burst_number_;
  uint16_t started[SrtpBatch::kMaxBurst];
  uint16_t live = 0;
  const uint16_t n = count < SrtpBatch::kMaxBurst ? count : SrtpBatch::kMaxBurst;

  // 1. Which session and leg (one bulk lookup, then the sessions' state is asked for
  //    while the packets are checked); is the source the leg's remote; is it RTP.
  MediaEndpoint locals[SrtpBatch::kMaxBurst];
  const MediaEndpoint* local_pointers[SrtpBatch::kMaxBurst] = {};
  const MediaPort* ports[SrtpBatch::kMaxBurst];
  for (uint16_t k = 0; k < n; ++k) {
    const PacketMeta& m = meta[which[k]];
    locals[k] = {.family = m.family,
                 .address = m.dst,
                 .port = m.dst_port};  // the table's key ignores IPv4's spare bytes
    local_pointers[k] = &locals[k];
  }
  table_.FindBulk(local_pointers, n, ports);
  // The legs' hot lines and the rest of each packet (the parser read its first line;
  // the crypto reads all of it) are asked for before any is needed.
  for (uint16_t k = 0; k < n; ++k) {
    const char* data = rte_pktmbuf_mtod(frames[which[k]], const char*);
    for (uint32_t line = 64; line < frames[which[k]]->data_len; line += 64)
      rte_prefetch0(data + line);
    // Another worker's session: its owner may be changing the hints (and it is passed on).
    if (ports[k] == nullptr || ports[k]->owner != worker_) continue;
    const MediaSession* s = ports[k]->session;
    const MediaLeg& in = s->legs[ports[k]->leg];
    const MediaLeg& out = s->legs[1 - ports[k]->leg];
    rte_prefetch0(&in);
    rte_prefetch0(&in.rtp_stats);
    rte_prefetch0(&out);
    rte_prefetch0(&out.counters.packets_out);
    // The streams in use (an RTP packet reads a stream's first two lines only).
    if (ports[k]->unprotect_session != nullptr) {
      SrtpBatch::Prefetch(ports[k]->unprotect_session, ports[k]->unprotect_session_lines);
      rte_prefetch0(&in.from_leg);
      rte_prefetch0(reinterpret_cast<const char*>(&in.from_leg) + 64);
    }
    if (ports[k]->other_leg_srtp) {
      rte_prefetch0(&out.to_leg);
      rte_prefetch0(reinterpret_cast<const char*>(&out.to_leg) + 64);
    }
  }
  for (uint16_t k = 0; k < n; ++k) {
    const uint16_t i = which[k];
    const PacketMeta& m = meta[i];
    const MediaPort* port = ports[k];
    held[i] = false;
    if (m.fragment) {  // a first fragment: its UDP length counts bytes it does not hold
      verdict[i] = DropReason::kMediaFragment;
      continue;
    }
    if (port == nullptr) {
      verdict[i] = DropReason::kMediaNoSession;
      continue;
    }
    if (port->owner != worker_) {  // another worker's to write: before anything is
      verdict[i] = DropReason::kMediaOtherWorker;
      tx_slot[i] = port->owner;
      continue;
    }
    rte_mbuf* f = frames[i];
    const uint8_t* udp = rte_pktmbuf_mtod_offset(f, const uint8_t*, m.l4_offset);
    const uint16_t udp_length = Be16(udp + 4);
    // The whole datagram in the first segment (where the crypto and the checksums
    // read it); what follows it is link-layer padding, trimmed (the crypto takes the
    // packet to end where the frame does).
    if (f->nb_segs != 1 || udp_length > f->data_len - m.l4_offset) {
      verdict[i] = DropReason::kMediaBadLength;
      continue;
    }
    const uint32_t padding = f->pkt_len - (m.l4_offset + udp_length);
    if (padding != 0) rte_pktmbuf_trim(f, static_cast<uint16_t>(padding));
    const uint8_t* rtp = udp + 8;
    const uint16_t rtp_length = static_cast<uint16_t>(udp_length - 8);
    bool rtcp = port->rtcp;
    if (rtp_length >= 2 && !rtcp) rtcp = rtp[1] >= 192 && rtp[1] <= 223;  // RFC 5761 demultiplexing
    if (rtp_length < (rtcp ? 8 : 12) || (rtp[0] >> 6) != 2) {
      verdict[i] = DropReason::kMediaNotRtp;
      continue;
    }
    MediaSession* session = port->session;
    MediaLeg& in = session->legs[port->leg];
    // RTCP must come from the remote's address; RTP from its exact address and port.
    const bool from_remote =
        in.remote_known && SameAddress(in.remote, m) && (rtcp || in.remote.port == m.src_port);
    bool latch = false;
    if (!from_remote) {
      const bool may_latch =
          !rtcp && !in.remote_given && in.latching != Latching::kNever &&
          (in.srtp || (!in.remote_known && in.latching == Latching::kFirstPacket));
      if (!may_latch) {
        AddShared(in.counters.wrong_source);
        verdict[i] = DropReason::kMediaWrongSource;
        continue;
      }
      latch = true;
    }
    if (free_work_count_ == 0) [[unlikely]] {  // the device holds kMaxHeld already
      verdict[i] = DropReason::kMediaCrypto;
      continue;
    }
    const uint16_t slot = free_work_[--free_work_count_];
    Work& w = work_[slot];
    w.frame = f;
    w.port = port;
    w.in = &in;
    w.out = &session->legs[1 - port->leg];
    w.arrival_tsc = now_tsc;
    w.meta = m;
    w.burst = burst_number_;
    w.index = i;
    w.payload = static_cast<uint16_t>(m.l4_offset + 8);
    w.rtcp = rtcp;
    w.latch = latch;
    w.protecting = false;
    held[i] = true;  // until decided
    started[live++] = slot;
  }

  // 2. Unprotect what came as SRTP (a packet that fails moves nothing); the rest goes
  //    on at once. Then one enqueue, and whatever the device has finished is decided.
  for (uint16_t k = 0; k < live; ++k) Start(work_[started[k]]);
  Submit();
  Collect(port_macs, false);
  burst_ = nullptr;
  // Beyond one crypto burst (more than kMaxBurst media packets in one receive burst
  // cannot happen: receive bursts are smaller), nothing is left over.
  for (uint16_t k = SrtpBatch::kMaxBurst; k < count; ++k) {
    verdict[which[k]] = DropReason::kMediaCrypto;
    held[which[k]] = false;
  }
}

void MediaRelay::Start(Work& w) noexcept {
  if (w.in->srtp)
    Queue(w, false);
  else
    Accept(w);
}

// 3. Accepted (authentic, if SRTP): latch, learn the link address, account; then to
//    the other leg, protected for it if it is SRTP.
void MediaRelay::Accept(Work& w) noexcept {
  MediaLeg& in = *w.in;
  const PacketMeta& m = w.meta;
  rte_mbuf* f = w.frame;
  if (w.latch) {
    in.remote = {.family = m.family, .address = m.src, .port = m.src_port};
    if (m.family == Family::kIpv4) std::memset(in.remote.address.data() + 4, 0, 12);
    in.remote_known = true;
    in.published_remote.Store(in.remote);
    AddShared(in.counters.latches);
  }
  const rte_ether_hdr* eth = rte_pktmbuf_mtod(f, const rte_ether_hdr*);
  std::memcpy(in.link.data(), eth->src_addr.addr_bytes, 6);
  in.link_known = true;
  const uint8_t* rtp = rte_pktmbuf_mtod_offset(f, const uint8_t*, w.payload);
  const uint32_t length = f->pkt_len - w.payload;
  if (!w.rtcp) {
    const auto arrival = static_cast<uint32_t>(
        (static_cast<unsigned __int128>(w.arrival_tsc) * in.rtp_units_per_tsc_q32) >> 32);
    in.rtp_stats.Update(Be16(rtp + 2), Be32(rtp + 4), arrival, length);
  }
  AddShared(in.counters.packets_in);
  AddShared(in.counters.bytes_in, length);
  w.port->last_active_tsc.store(w.arrival_tsc, std::memory_order_relaxed);
  if (!w.out->remote_known || !w.out->link_known) {
    Decide(w, DropReason::kMediaLegNotReady);
  } else if (w.out->srtp) {
    Queue(w, true);
  } else {
    Readdress(w);
  }
}

void MediaRelay::Queue(Work& w, bool protect) noexcept {
  if (batch_.full()) Submit();
  w.protecting = protect;
  const SrtpResult r =
      batch_.Add(w.frame, w.payload, w.rtcp, protect ? &w.out->to_leg : &w.in->from_leg,
                 static_cast<uintptr_t>(&w - work_.get()));
  if (r != SrtpResult::kOk) Decide(w, DropFor(r));
  protect_queued_ = protect_queued_ || protect;
}

void MediaRelay::Submit() noexcept {
  SrtpDone refused[SrtpBatch::kMaxBurst];
  // Unprotecting sessions were asked for with the lookups (step 1).
  const uint16_t n = batch_.Submit(
      refused, protect_queued_ ? SrtpBatch::SessionsCached::kNo : SrtpBatch::SessionsCached::kYes);
  protect_queued_ = false;
  for (uint16_t d = 0; d < n; ++d) Done(refused[d]);
}

void MediaRelay::Done(const SrtpDone& done) noexcept {
  Work& w = work_[done.user];
  if (done.result != SrtpResult::kOk) {
    if (done.m == nullptr) w.frame = nullptr;  // the device still holds it
    Decide(w, DropFor(done.result));
  } else if (w.protecting) {
    Readdress(w);
  } else {
    Accept(w);
  }
}

void MediaRelay::Collect(std::span<const rte_ether_addr> port_macs, bool wait) noexcept {
  port_macs_ = port_macs;
  SrtpDone done[SrtpBatch::kOps];
  // A packet makes at most two trips (unprotect, protect): the second are submitted
  // together once the first are decided.
  for (int trip = 0; trip < 3 && batch_.in_flight() != 0; ++trip) {
    const uint16_t n = wait ? batch_.Drain(done) : batch_.Collect(done);
    for (uint16_t d = 0; d < n; ++d) Done(done[d]);
    Submit();
    if (n == 0) break;
  }
}

// 4. Readdress: from our relay port on the other leg to its remote, in a packet of
//    ours (a bare IP header: the sender's options or extension headers, which the
//    parser let through, are not ours to forward).
void MediaRelay::Readdress(Work& w) noexcept {
  MediaLeg& out = *w.out;
  if (out.port_slot >= port_macs_.size()) [[unlikely]] {  // no tables now: nothing leaves
    Decide(w, DropReason::kNoRuleSet);
    return;
  }
  const PacketMeta& m = w.meta;
  rte_mbuf* f = w.frame;
  const bool v4 = m.family == Family::kIpv4;
  const uint16_t ip_bytes = v4 ? sizeof(rte_ipv4_hdr) : sizeof(rte_ipv6_hdr);
  uint16_t l4_offset = m.l4_offset;
  if (const uint16_t extra = static_cast<uint16_t>(m.l4_offset - m.l3_offset - ip_bytes);
      extra != 0) {
    uint8_t* start = rte_pktmbuf_mtod(f, uint8_t*);
    std::memmove(start + extra, start,
                 m.l3_offset + ip_bytes);  // Ethernet (+ VLAN) and the fixed IP header
    rte_pktmbuf_adj(f, extra);
    l4_offset = static_cast<uint16_t>(l4_offset - extra);
    uint8_t* l3 = rte_pktmbuf_mtod_offset(f, uint8_t*, m.l3_offset);
    if (v4)
      l3[0] = 0x45;  // version 4, 20-byte header
    else
      l3[6] = kProtoUdp;  // next header
  }
  const uint16_t payload_length = static_cast<uint16_t>(f->pkt_len - (l4_offset + 8));
  const bool separate_rtcp = w.rtcp && !out.rtcp_mux;
  rte_ether_hdr* eth = rte_pktmbuf_mtod(f, rte_ether_hdr*);
  std::memcpy(eth->dst_addr.addr_bytes, out.link.data(), 6);
  eth->src_addr = port_macs_[out.port_slot];
  uint8_t* l3 = rte_pktmbuf_mtod_offset(f, uint8_t*, m.l3_offset);
  auto* udp = rte_pktmbuf_mtod_offset(f, rte_udp_hdr*, l4_offset);
  udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(out.local.port + (separate_rtcp ? 1 : 0)));
  udp->dst_port =
      rte_cpu_to_be_16(static_cast<uint16_t>(out.remote.port + (separate_rtcp ? 1 : 0)));
  udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload_length));
  udp->dgram_cksum = 0;
  if (v4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(l3);
    std::memcpy(&ip->src_addr, out.local.address.data(), 4);
    std::memcpy(&ip->dst_addr, out.remote.address.data(), 4);
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(ip_bytes + 8 + payload_length));
    ip->fragment_offset = 0;  // a whole datagram (fragments never get here), not ours to mark DF
    ip->time_to_live = kTtl;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
  } else {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(l3);
    std::memcpy(ip->src_addr, out.local.address.data(), 16);
    std::memcpy(ip->dst_addr, out.remote.address.data(), 16);
    ip->payload_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + payload_length));
    ip->hop_limits = kTtl;
    udp->dgram_cksum = rte_ipv6_udptcp_cksum(ip, udp);  // mandatory over IPv6
  }
  AddShared(out.counters.packets_out);
  AddShared(out.counters.bytes_out, payload_length);
  Decide(w, kNotDropped);
}

// The packet's verdict, into the caller's burst if it came in this Process() call,
// else as a Late one; its slot serves again.
void MediaRelay::Decide(Work& w, DropReason verdict) noexcept {
  if (burst_ != nullptr && w.burst == burst_number_) {
    const uint16_t i = w.index;
    burst_->verdict[i] = verdict;
    burst_->tx_slot[i] = w.out->port_slot;
    burst_->held[i] = false;
    if (w.frame == nullptr) burst_->frames[i] = nullptr;
  } else if (late_count_ < kMaxHeld) [[likely]] {  // the caller takes them after every call
    late_[late_count_++] = {w.frame, verdict, w.out->port_slot};
  } else if (w.frame != nullptr) {
    rte_pktmbuf_free(w.frame);
  }
  free_work_[free_work_count_++] = static_cast<uint16_t>(&w - work_.get());
}

void MediaRelay::ApplySessionChanges(std::span<const rte_ether_addr> port_macs) noexcept {
  if (busy() && table_.ChangePendingFor(worker_)) [[unlikely]]
    Drain(port_macs);  // the change may replace streams the device's packets point into
  table_.ApplyChangesFor(worker_);
}

}  // namespace sbc::dataplane
