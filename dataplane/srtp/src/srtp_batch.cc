#include "sbc/dataplane/srtp/srtp_batch.h"

#include <rte_byteorder.h>
#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstring>

#include "sbc/drivers/crypto/crypto_device.h"

namespace sbc::dataplane {
namespace {

// An op's private area, after the IV offset.
constexpr uint16_t kIvAt = 0, kAadAt = 16, kAadMax = 128, kDigestAt = 144, kContextAt = 168;

// Where an op is. The device reads the IV, AAD and digest areas and writes the op's
// status, never this context, so it is ours to read and write while the device holds
// the op.
enum class OpState : uint8_t {
  kFree,
  kQueued,    // added, not yet submitted
  kOut,       // with the device
  kStranded,  // given up on (kDeviceLost): when it comes back, only freed
};

struct OpContext {
  SrtpStream* stream;
  uintptr_t user;
  uint64_t index;     // SRTP packet index, or SRTCP index
  uint64_t deadline;  // kOut: given up on from this TSC on
  uint32_t ssrc;
  uint16_t offset;  // where the RTP/RTCP packet starts in the mbuf
  uint16_t length;  // its length as handed in
  uint16_t slot;    // position among the Add()s since the last Submit()
  uint8_t variant;  // VariantOf(): which FinishAs runs it
  uint8_t trial;    // 1 + the index of the trial session it uses (0: none)
  OpState state;
};
static_assert(kContextAt + sizeof(OpContext) <= drivers::crypto::kOpPrivateBytes);

uint8_t* Private(rte_crypto_op* op, uint16_t at) {
  return rte_crypto_op_ctod_offset(op, uint8_t*, drivers::crypto::IvOffset() + at);
}
rte_iova_t PrivateIova(rte_crypto_op* op, uint16_t at) {
  return rte_crypto_op_ctophys_offset(op, drivers::crypto::IvOffset() + at);
}
OpContext* Context(rte_crypto_op* op) {
  return reinterpret_cast<OpContext*>(Private(op, kContextAt));
}

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
void PutBe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// RFC 3711 §4.1.1: IV = (salt << 16) XOR (SSRC << 64) XOR (index << 16), 16 bytes.
void AesCmIv(uint8_t* iv, const uint8_t* salt, uint32_t ssrc, uint64_t index) {
  std::memset(iv, 0, 16);
  PutBe32(iv + 4, ssrc);
  for (int i = 0; i < 6; ++i) iv[8 + i] = static_cast<uint8_t>(index >> (8 * (5 - i)));
  for (int i = 0; i < 14; ++i) iv[i] ^= salt[i];
}

// RFC 7714 §8.1 / §9.1: IV = (0x0000 || SSRC || ROC || SEQ) XOR salt for SRTP and
// (0x0000 || SSRC || 0x0000 || 0 || index) XOR salt for SRTCP: both the SSRC, then a
// 48-bit number (the SRTP packet index, or the 31-bit SRTCP index); 12 bytes.
void AeadIv(uint8_t* iv, const uint8_t* salt, uint32_t ssrc, uint64_t index) {
  std::memset(iv, 0, 12);
  PutBe32(iv + 2, ssrc);
  for (int i = 0; i < 6; ++i) iv[6 + i] = static_cast<uint8_t>(index >> (8 * (5 - i)));
  for (int i = 0; i < 12; ++i) iv[i] ^= salt[i];
}

// The RTP header's length within the first `limit` bytes, or 0 if it does not fit.
uint16_t RtpHeaderBytes(const uint8_t* p, uint32_t limit) {
  if (limit < 12 || (p[0] >> 6) != 2) return 0;
  uint32_t bytes = 12 + 4u * (p[0] & 0x0f);
  if (p[0] & 0x10) {
    if (bytes + 4 > limit) return 0;
    bytes += 4 + 4u * Be16(p + bytes + 2);
  }
  return bytes <= limit ? static_cast<uint16_t>(bytes) : 0;
}

// An HMAC-SHA1 tag, 10 or 4 bytes: fixed-size copies compile to a move or two, where
// a copy of a run-time length becomes a call or a slow-starting string move.
void CopyTag(uint8_t* to, const uint8_t* from, uint8_t bytes) {
  if (bytes == 10)
    std::memcpy(to, from, 10);
  else if (bytes == 4)
    std::memcpy(to, from, 4);
  else
    std::memcpy(to, from, bytes);
}

// Runs `run.operator()<protect, rtcp, aead>()` for the variant numbered `variant`
// (SrtpBatch::VariantOf), one bit at a time from the top: three predictable branches,
// each variant a call the compiler can inline.
template <bool... kChosen, typename Run>
decltype(auto) ByVariant(uint8_t variant, Run&& run) {
  if constexpr (sizeof...(kChosen) == 3) {
    return run.template operator()<kChosen...>();
  } else {
    constexpr uint8_t kBit = 4 >> sizeof...(kChosen);
    if (variant & kBit) return ByVariant<kChosen..., true>(variant, run);
    return ByVariant<kChosen..., false>(variant, run);
  }
}

}  // namespace

const char* SrtpResultName(SrtpResult result) {
  switch (result) {
    case SrtpResult::kOk:
      return "ok";
    case SrtpResult::kMalformed:
      return "malformed";
    case SrtpResult::kNoRoom:
      return "no_room";
    case SrtpResult::kAuthFailed:
      return "auth_failed";
    case SrtpResult::kReplayed:
      return "replayed";
    case SrtpResult::kTooOld:
      return "too_old";
    case SrtpResult::kIndexSpent:
      return "index_spent";
    case SrtpResult::kUnsupported:
      return "unsupported";
    case SrtpResult::kDeviceError:
      return "device_error";
    case SrtpResult::kDeviceLost:
      return "device_lost";
  }
  return "?";
}

SrtpBatch::SrtpBatch(uint8_t device, uint16_t qp, rte_mempool* op_pool, rte_mempool* session_pool,
                     const Options& options)
    : device_(device),
      qp_(qp),
      op_pool_(op_pool),
      session_pool_(session_pool),
      budget_(options.budget),
      queue_(options.queue),
      collect_bound_tsc_(rte_get_tsc_hz() / 1'000'000 * options.collect_bound_us) {
  // The batch owns its ops for good: no pool traffic per packet. Every field an op
  // needs is set again in Add().
  rte_crypto_op* all[kOps];
  if (op_pool_ == nullptr ||  // no crypto device: every SRTP packet is refused
      rte_crypto_op_bulk_alloc(op_pool_, RTE_CRYPTO_OP_TYPE_SYMMETRIC, all, std::size(all)) !=
          std::size(all))
    return;
  for (uint16_t i = 0; i < kOps; ++i) {
    Context(all[i])->state = OpState::kFree;
    all_[i] = all[i];
    free_[kOps - 1 - i] = all[i];  // handed out in pool order
  }
  free_count_ = kOps;
}

SrtpBatch::~SrtpBatch() {
  // Ops the device still holds (out, stranded) are its to keep: freeing them here
  // would hand them out again while it may write them. The owner drains first.
  for (rte_crypto_op* op : all_)
    if (op != nullptr &&
        (Context(op)->state == OpState::kFree || Context(op)->state == OpState::kQueued)) {
      rte_crypto_op_free(op);
    }
}

SrtpResult SrtpBatch::Refuse(SrtpStream* stream, SrtpResult result) {
  SrtpStreamCounters& c = stream->counters;
  switch (result) {
    case SrtpResult::kAuthFailed:
      AddShared(c.auth_failures);
      break;
    case SrtpResult::kReplayed:
    case SrtpResult::kTooOld:
      AddShared(c.replays);
      break;
    default:
      AddShared(c.malformed);
      break;
  }
  return result;
}

void* SrtpBatch::AeadRtpSession(SrtpStream* stream, uint16_t header_bytes, uint8_t* trial,
                                SrtpResult* refused) {
  *trial = 0;
  for (auto& s : stream->rtp_sessions) {
    if (s.session == nullptr || s.header_bytes != header_bytes) continue;
    for (uint8_t t = 0; t < kMaxTrials; ++t)  // made for a packet still out
      if (trials_[t].session == s.session && !trials_[t].kept) {
        ++trials_[t].uses;
        *trial = static_cast<uint8_t>(t + 1);
      }
    return s.session;
  }
  // A header length not met before (CSRCs, an extension): one more session, on trial
  // until a packet of that length authenticates (freed once no op uses it otherwise),
  // a few at a time, within the device's budget: no stream of packets that never
  // authenticate can fill the session pool or keep a worker making sessions.
  *refused = SrtpResult::kUnsupported;
  Trial* entry = std::find_if(std::begin(trials_), std::end(trials_),
                              [](const Trial& t) { return t.session == nullptr; });
  if (entry == std::end(trials_)) return nullptr;
  for (int i = 0; i < SrtpStream::kRtpSessions; ++i) {
    SrtpStream::RtpSession& s = stream->rtp_sessions[i];
    if (s.session != nullptr) continue;
    if (budget_ != nullptr && !budget_->TryTake()) return nullptr;
    SrtpSessionKeys keys;
    std::memcpy(keys.cipher, stream->rtp_aead_key, sizeof(keys.cipher));
    s.session = CreateSrtpSession(device_, session_pool_, stream->suite, stream->direction, false,
                                  keys, header_bytes);
    std::memset(keys.cipher, 0, sizeof(keys.cipher));
    if (s.session == nullptr) {
      if (budget_ != nullptr) budget_->Give();
      *refused = SrtpResult::kDeviceError;
      return nullptr;
    }
    s.header_bytes = header_bytes;
    *entry = {.stream = stream,
              .session = s.session,
              .uses = 1,
              .slot = static_cast<uint8_t>(i),
              .kept = false};
    *trial = static_cast<uint8_t>(entry - trials_ + 1);
    return s.session;
  }
  return nullptr;  // every slot taken: kUnsupported
}

void SrtpBatch::EndTrialUse(uint8_t trial) {
  Trial& t = trials_[trial - 1];
  if (--t.uses != 0) return;
  // No op uses it now: the device is done with it (or keeps it with a stranded op, and
  // then it was marked kept).
  if (!t.kept) {
    SrtpStream::RtpSession& s = t.stream->rtp_sessions[t.slot];
    rte_cryptodev_sym_session_free(device_, s.session);
    s = SrtpStream::RtpSession{};
    if (budget_ != nullptr) budget_->Give();
  }
  t = Trial{};
}

template <bool kProtect, bool kRtcp, bool kAead>
SrtpResult SrtpBatch::AddAs(rte_mbuf* m, uint16_t offset, SrtpStream* stream, uintptr_t user) {
  const SrtpSuiteSizes sizes = SizesOf(stream->suite);
  constexpr bool protect = kProtect, rtcp = kRtcp;
  uint8_t* p = rte_pktmbuf_mtod_offset(m, uint8_t*, offset);
  const uint32_t length = m->pkt_len - offset;
  const uint8_t tag = rtcp ? sizes.rtcp_tag : sizes.rtp_tag;
  const uint32_t trailer = tag + (rtcp ? 4u : 0u);  // SRTCP adds E||index
  if (!protect && length < trailer) return Refuse(stream, SrtpResult::kMalformed);
  const uint32_t plain = protect ? length : length - trailer;  // header + payload
  if (protect && rte_pktmbuf_tailroom(m) < trailer) return Refuse(stream, SrtpResult::kNoRoom);
  if (free_count_ == 0)  // the op pool was empty at start, or the device holds every op
    return Refuse(stream, SrtpResult::kDeviceError);

  OpContext ctx{.stream = stream,
                .user = user,
                .index = 0,
                .deadline = 0,
                .ssrc = 0,
                .offset = offset,
                .length = static_cast<uint16_t>(length),
                .slot = count_,
                .variant = VariantOf(kProtect, kRtcp, kAead),
                .trial = 0,
                .state = OpState::kQueued};
  uint16_t header = 0;
  void* session = nullptr;
  if constexpr (rtcp) {
    if (plain < 8 || (p[0] >> 6) != 2) return Refuse(stream, SrtpResult::kMalformed);
    header = 8;
    ctx.ssrc = Be32(p + 4);
    if constexpr (protect) {
      if (stream->next_rtcp_index > 0x7fff'ffffu) return Refuse(stream, SrtpResult::kIndexSpent);
      ctx.index = stream->next_rtcp_index++;  // reserved now: two in one burst never share one
    } else {
      const uint32_t e_index = Be32(p + (kAead ? length - 4 : plain));
      if ((e_index & 0x8000'0000u) == 0)
        return Refuse(stream, SrtpResult::kMalformed);  // unencrypted SRTCP
      ctx.index = e_index & 0x7fff'ffffu;
      const IndexVerdict v = stream->rtcp_index.Check(ctx.index);
      if (v != IndexVerdict::kFresh)
        return Refuse(stream,
                      v == IndexVerdict::kReplayed ? SrtpResult::kReplayed : SrtpResult::kTooOld);
    }
    session = stream->rtcp_session;
  } else {
    header = RtpHeaderBytes(p, plain);
    if (header == 0) return Refuse(stream, SrtpResult::kMalformed);
    ctx.ssrc = Be32(p + 8);
    const uint16_t seq = Be16(p + 2);
    // Each SSRC has an index space of its own (see SrtpStream::kSsrcs); one not seen
    // before starts fresh, and is taken once a packet of it goes through
    // (authenticated, when unprotecting).
    const PacketIndexWindow* window = stream->WindowOf(ctx.ssrc);
    PacketIndexWindow fresh;
    if (window == nullptr) {
      if (!stream->HasRoomForSsrc()) return Refuse(stream, SrtpResult::kUnsupported);
      window = &fresh;
    }
    const std::optional<uint64_t> index = window->EstimateRtp(seq);
    if (!index) return Refuse(stream, SrtpResult::kTooOld);
    const IndexVerdict v = window->Check(*index);
    if (v != IndexVerdict::kFresh)
      return Refuse(stream,
                    v == IndexVerdict::kReplayed ? SrtpResult::kReplayed : SrtpResult::kTooOld);
    ctx.index = *index;
    if constexpr (kAead) {
      if (header > kAadMax) return Refuse(stream, SrtpResult::kMalformed);
      SrtpResult refused = SrtpResult::kDeviceError;
      session = AeadRtpSession(stream, header, &ctx.trial, &refused);
      if (session == nullptr) return Refuse(stream, refused);
    } else {
      session = stream->rtp_sessions[0].session;  // one for every header length
    }
  }

  rte_crypto_op* op = free_[--free_count_];
  op->status = RTE_CRYPTO_OP_STATUS_NOT_PROCESSED;
  if constexpr (protect) {  // room checked above; one segment, so no walk to the last (a cold line)
    m->data_len = static_cast<uint16_t>(m->data_len + trailer);
    m->pkt_len += trailer;
  }
  rte_crypto_op_attach_sym_session(op, session);
  rte_crypto_sym_op* sym = op->sym;
  sym->m_src = m;
  sym->m_dst = nullptr;
  uint8_t* iv = Private(op, kIvAt);
  const uint32_t payload_at = offset + header;
  const uint32_t payload_bytes = plain - header;

  if constexpr (kAead) {
    uint8_t* aad = Private(op, kAadAt);
    std::memcpy(aad, p, header);
    AeadIv(iv, rtcp ? stream->rtcp_salt : stream->rtp_salt, ctx.ssrc, ctx.index);
    if constexpr (rtcp) {
      if constexpr (protect)
        PutBe32(p + plain + tag, 0x8000'0000u | static_cast<uint32_t>(ctx.index));
      PutBe32(aad + 8, 0x8000'0000u | static_cast<uint32_t>(ctx.index));  // AAD: header || E||index
    }
    sym->aead.data.offset = payload_at;
    sym->aead.data.length = payload_bytes;
    sym->aead.digest.data = p + plain;
    sym->aead.digest.phys_addr = rte_pktmbuf_iova_offset(m, offset + plain);
    sym->aead.aad.data = aad;
    sym->aead.aad.phys_addr = PrivateIova(op, kAadAt);
  } else {
    AesCmIv(iv, rtcp ? stream->rtcp_salt : stream->rtp_salt, ctx.ssrc, ctx.index);
    uint8_t* scratch = Private(op, kDigestAt);
    sym->cipher.data.offset = payload_at;
    sym->cipher.data.length = payload_bytes;
    sym->auth.data.offset = offset;
    if constexpr (rtcp) {
      // Authenticated: header, ciphertext, E||index; the tag follows them.
      if constexpr (protect) PutBe32(p + plain, 0x8000'0000u | static_cast<uint32_t>(ctx.index));
      sym->auth.data.length = plain + 4;
      sym->auth.digest.data = p + plain + 4;
      sym->auth.digest.phys_addr = rte_pktmbuf_iova_offset(m, offset + plain + 4);
    } else {
      // Authenticated: header, ciphertext and the ROC, which is not sent. It goes
      // where the tag will be, so the tag is made (or, received, kept) aside.
      if constexpr (!protect) CopyTag(scratch, p + plain, tag);
      PutBe32(p + plain, static_cast<uint32_t>(ctx.index >> 16));
      sym->auth.data.length = plain + 4;
      sym->auth.digest.data = scratch;
      sym->auth.digest.phys_addr = PrivateIova(op, kDigestAt);
    }
  }
  *Context(op) = ctx;
  queued_[count_++] = op;
  return SrtpResult::kOk;
}

template <bool kProtect, bool kRtcp, bool kAead>
void SrtpBatch::FinishAs(rte_crypto_op* op, SrtpDone* done) {
  const OpContext ctx = *Context(op);
  SrtpStream* stream = ctx.stream;
  const SrtpSuiteSizes sizes = SizesOf(stream->suite);
  constexpr bool protect = kProtect, rtcp = kRtcp;
  rte_mbuf* m = op->sym->m_src;
  uint8_t* p = rte_pktmbuf_mtod_offset(m, uint8_t*, ctx.offset);
  const uint8_t tag = rtcp ? sizes.rtcp_tag : sizes.rtp_tag;
  const uint32_t trailer = tag + (rtcp ? 4u : 0u);
  SrtpResult result = op->status == RTE_CRYPTO_OP_STATUS_SUCCESS       ? SrtpResult::kOk
                      : op->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED ? SrtpResult::kAuthFailed
                                                                       : SrtpResult::kDeviceError;
  if (result == SrtpResult::kOk && (!protect || !rtcp)) {
    // Again, now that it is authentic: another packet of this burst may have taken
    // the same index first (or, sending, the last room for another SSRC). Sending, the
    // loser was encrypted but never leaves: no (SSRC, index) goes out twice.
    PacketIndexWindow* window = rtcp ? &stream->rtcp_index : stream->MakeCurrent(ctx.ssrc);
    if (window == nullptr)
      result = SrtpResult::kUnsupported;
    else if (window->Check(ctx.index) != IndexVerdict::kFresh)
      result = SrtpResult::kReplayed;
    else
      window->Commit(ctx.index);
  }
  if (result == SrtpResult::kOk && ctx.trial != 0) trials_[ctx.trial - 1].kept = true;
  if (result == SrtpResult::kOk) {
    const uint32_t plain = protect ? ctx.length : ctx.length - trailer;
    if constexpr (protect && !rtcp && !kAead) CopyTag(p + plain, Private(op, kDigestAt), tag);
    if constexpr (!protect) {  // the tag (and SRTCP's E||index) off; one segment (see Add)
      m->data_len = static_cast<uint16_t>(m->data_len - trailer);
      m->pkt_len -= trailer;
    }
    AddShared(stream->counters.packets);
    AddShared(stream->counters.bytes, plain);
  } else {
    (void)Refuse(stream, result);
  }
  *done = {m, stream, ctx.user, result};
}

void SrtpBatch::Finish(rte_crypto_op* op, SrtpDone* done) {
  OpContext* ctx = Context(op);
  if (in_order_) done += ctx->slot;
  ByVariant(ctx->variant, [&]<bool kProtect, bool kRtcp, bool kAead> {
    FinishAs<kProtect, kRtcp, kAead>(op, done);
  });
  if (ctx->trial != 0) EndTrialUse(ctx->trial);
  ctx->state = OpState::kFree;
  free_[free_count_++] = op;
}

SrtpResult SrtpBatch::Add(rte_mbuf* m, uint16_t offset, bool rtcp, SrtpStream* stream,
                          uintptr_t user) {
  if (full()) return SrtpResult::kDeviceError;
  if (m->nb_segs != 1 || m->pkt_len < offset) return Refuse(stream, SrtpResult::kMalformed);
  const uint8_t variant =
      VariantOf(stream->direction == SrtpDirection::kProtect, rtcp, SizesOf(stream->suite).aead);
  return ByVariant(variant, [&]<bool kProtect, bool kRtcp, bool kAead> {
    return AddAs<kProtect, kRtcp, kAead>(m, offset, stream, user);
  });
}

void SrtpBatch::Prefetch(const void* session, uint32_t lines) noexcept {
  const char* base = static_cast<const char*>(session);
  for (; lines != 0; lines &= lines - 1)
    rte_prefetch0(base + 64 * static_cast<size_t>(__builtin_ctz(lines)));
}

uint16_t SrtpBatch::Enqueue(uint16_t count) noexcept {
  return queue_ != nullptr ? queue_->Enqueue(queued_, count)
                           : rte_cryptodev_enqueue_burst(device_, qp_, queued_, count);
}

uint16_t SrtpBatch::Dequeue(rte_crypto_op** back, uint16_t room) noexcept {
  return queue_ != nullptr ? queue_->Dequeue(back, room)
                           : rte_cryptodev_dequeue_burst(device_, qp_, back, room);
}

uint16_t SrtpBatch::Submit(SrtpDone* done, SessionsCached cached) noexcept {
  const uint16_t n = count_;
  if (n == 0) return 0;
  count_ = 0;
  // With thousands of streams every session's key schedule is cold: ask for all of
  // this burst's at once, so the device's work on one overlaps the loads of the next.
  if (cached == SessionsCached::kNo)
    for (uint16_t i = 0; i < n; ++i)
      Prefetch(queued_[i]->sym->session, Context(queued_[i])->stream->session_lines);
  // One enqueue: the queue pair is this worker's alone and holds more than a burst, so
  // what it does not take now it would not take by being asked again.
  const uint16_t sent = Enqueue(n);
  if (sent != 0) {
    const uint64_t deadline = rte_get_tsc_cycles() + collect_bound_tsc_;
    for (uint16_t i = 0; i < sent; ++i) {
      OpContext* ctx = Context(queued_[i]);
      ctx->state = OpState::kOut;
      ctx->deadline = deadline;
    }
    if (in_flight_ == 0) check_at_ = deadline;  // else an op out already has an earlier one
    in_flight_ = static_cast<uint16_t>(in_flight_ + sent);
  }
  for (uint16_t i = sent; i < n; ++i) {  // the device would not take them
    queued_[i]->status = RTE_CRYPTO_OP_STATUS_ERROR;
    Finish(queued_[i], done + (in_order_ ? 0 : i - sent));
  }
  return static_cast<uint16_t>(n - sent);
}

uint16_t SrtpBatch::Collect(SrtpDone* done) noexcept {
  if (in_flight_ == 0 && stranded_ == 0) [[likely]]
    return 0;
  uint16_t n = 0;
  rte_crypto_op* back[kOps];
  // Everything the device holds fits one dequeue; a queue that gives less per call
  // is asked again while it gives.
  for (;;) {
    const uint16_t k = Dequeue(back, kOps);
    if (k == 0) break;
    for (uint16_t i = 0; i < k; ++i) {
      rte_crypto_op* op = back[i];
      OpContext* ctx = Context(op);
      if (ctx->state == OpState::kStranded) [[unlikely]] {
        // Given up on earlier: its packet was counted lost then; its stream may be
        // gone since, so nothing but the op and the packet is touched.
        rte_pktmbuf_free(op->sym->m_src);
        op->sym->m_src = nullptr;
        ctx->state = OpState::kFree;
        free_[free_count_++] = op;
        --stranded_;
        ++returned_late_;
        continue;
      }
      --in_flight_;
      Finish(op, in_order_ ? done : done + n);
      ++n;
    }
    if (in_flight_ == 0 && stranded_ == 0) break;
  }
  if (in_flight_ != 0) {
    const uint64_t now = rte_get_tsc_cycles();
    if (now >= check_at_) [[unlikely]]
      GiveUpOnLate(now, done, &n);
  }
  return n;
}

void SrtpBatch::GiveUpOnLate(uint64_t now, SrtpDone* done, uint16_t* n) noexcept {
  uint64_t next = UINT64_MAX;
  for (rte_crypto_op* op : all_) {
    if (op == nullptr) break;
    OpContext* ctx = Context(op);
    if (ctx->state != OpState::kOut) continue;
    if (ctx->deadline > now) {
      next = std::min(next, ctx->deadline);
      continue;
    }
    ctx->state = OpState::kStranded;  // the device keeps it
    --in_flight_;
    ++stranded_;
    // The trial session it uses may still be read by the device: kept, as if a packet
    // had authenticated (the stream frees it with the rest).
    if (ctx->trial != 0) {
      trials_[ctx->trial - 1].kept = true;
      EndTrialUse(ctx->trial);
    }
    done[in_order_ ? ctx->slot : (*n)++] = {nullptr, ctx->stream, ctx->user,
                                            SrtpResult::kDeviceLost};
  }
  check_at_ = next;
}

uint16_t SrtpBatch::Drain(SrtpDone* done) noexcept {
  uint16_t n = Collect(done);
  while (in_flight_ != 0) {
    rte_pause();
    n = static_cast<uint16_t>(n + Collect(done + (in_order_ ? 0 : n)));
  }
  return n;
}

uint16_t SrtpBatch::Run(SrtpDone* done, SessionsCached cached) {
  const uint16_t n = count_;
  in_order_ = true;  // each op finishes into done[its place among the Add()s]
  (void)Submit(done, cached);
  (void)Drain(done);
  in_order_ = false;
  return n;
}

}  // namespace sbc::dataplane
