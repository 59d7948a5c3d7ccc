// The line-rate SRTP engine of one worker: packets are checked and prepared one by one
// (header, replay window, IV, where the tag goes), then sent to the crypto device's
// queue pair in one enqueue per burst, and come back protected or unprotected, or with
// the reason they were refused. The worker does not wait for the device: it submits a
// burst and collects what is back when it next looks (Submit(), Collect()), so a
// device of the QAT kind works while the core goes on. An op the device keeps past a
// stated bound is given up on (kDeviceLost), never waited on without end. The batch
// owns its crypto ops; nothing is allocated per packet (except a new AEAD session for
// a new RTP header length, on trial until a packet of that length authenticates,
// within the device's ExtraSessionBudget), nothing locked, nothing thrown.
//
// Wire formats: RFC 3711 (AES-CM + HMAC-SHA1: SRTP tag after the payload, the ROC
// authenticated but not sent; SRTCP with E||index then the tag) and RFC 7714
// (AES-GCM: the RTP header as AAD; SRTCP as header || ciphertext || tag || E||index,
// header and E||index as AAD). Only encrypted SRTCP (E=1) is sent or accepted.
#pragma once

#include <cstdint>

#include "sbc/dataplane/srtp/srtp_stream.h"

struct rte_crypto_op;
struct rte_mbuf;
struct rte_mempool;

namespace sbc::dataplane {

enum class SrtpResult : uint8_t {
  kOk,
  kMalformed,    // too short, not version 2, multi-segment, header too long
  kNoRoom,       // no tailroom for the tag
  kAuthFailed,   // the tag did not verify: forged, damaged or wrong key
  kReplayed,     // an index already accepted (or, sending, already used)
  kTooOld,       // behind the replay window, or before the stream began
  kIndexSpent,   // SRTCP index or ROC space used up: the stream needs new keys
  kUnsupported,  // more SSRCs than SrtpStream::kSsrcs, or (AEAD) RTP header lengths than
                 // SrtpStream::kRtpSessions or the session budget allow
  kDeviceError,  // the crypto device refused or failed the operation
  kDeviceLost,   // the device did not give the op back within the bound: it still holds
                 // the packet (SrtpDone::m is nullptr), which is freed if it ever returns
};

[[nodiscard]] const char* SrtpResultName(SrtpResult result);

struct SrtpDone {
  rte_mbuf* m;  // nullptr with kDeviceLost: not the caller's to free or send
  SrtpStream* stream;
  uintptr_t user;  // the caller's cookie from Add()
  SrtpResult result;
};

// A crypto queue pair as the batch drives it: the device's own by default. Tests put
// a double in front of one to hold ops back (a device that is slow, or loses ops).
// One call per burst, never per packet.
class CryptoQueue {
 public:
  virtual ~CryptoQueue() = default;
  virtual uint16_t Enqueue(rte_crypto_op** ops, uint16_t count) noexcept = 0;
  virtual uint16_t Dequeue(rte_crypto_op** ops, uint16_t room) noexcept = 0;
};

class SrtpBatch {
 public:
  // The most Add()s between two Submit()s (or Run()s).
  static constexpr uint16_t kMaxBurst = 64;
  // The device may hold two bursts at once (one submitted in a poll, the next while the
  // first is out); kSpareOps more stand in for ops it keeps past the bound.
  static constexpr uint16_t kMaxInFlight = 2 * kMaxBurst;
  static constexpr uint16_t kSpareOps = 16;
  static constexpr uint16_t kOps = kMaxInFlight + kSpareOps;  // owned for the batch's life
  // How long an op may stay with the device after its Submit(): a device of the QAT
  // kind answers a burst in tens of microseconds; an op out longer than this is taken
  // as lost (kDeviceLost) rather than let stall the worker or its packet wait on.
  static constexpr uint32_t kCollectBoundUs = 250;

  struct Options {
    ExtraSessionBudget* budget = nullptr;  // bounds the AEAD sessions made for new header
                                           // lengths (nullptr: only kRtpSessions does)
    CryptoQueue* queue = nullptr;          // nullptr: the device's queue pair `qp`
    uint32_t collect_bound_us = kCollectBoundUs;
  };

  // Takes kOps ops from `op_pool` for its lifetime.
  SrtpBatch(uint8_t device, uint16_t qp, rte_mempool* op_pool, rte_mempool* session_pool,
            const Options& options);
  SrtpBatch(uint8_t device, uint16_t qp, rte_mempool* op_pool, rte_mempool* session_pool,
            ExtraSessionBudget* budget = nullptr)
      : SrtpBatch(device, qp, op_pool, session_pool, Options{.budget = budget}) {}
  ~SrtpBatch();
  SrtpBatch(const SrtpBatch&) = delete;
  SrtpBatch& operator=(const SrtpBatch&) = delete;

  // Queues `m` for its stream's direction: the RTP or RTCP packet is the mbuf's bytes
  // from `offset` to its end (the caller trims link padding first). kOk: it will come
  // back from Submit(), Collect() or Run(). Otherwise it was refused now, untouched,
  // and counted on the stream (kDeviceError: no op free, the device holding them all).
  // Full batch (kMaxBurst queued): the caller submits it first.
  [[nodiscard]] SrtpResult Add(rte_mbuf* m, uint16_t offset, bool rtcp, SrtpStream* stream,
                               uintptr_t user);

  // Asks for a crypto session's memory (its key schedules) ahead of Submit(). With
  // thousands of streams every session is cold, and the earlier this is asked for the
  // less the device waits.
  // `lines`: which of its cache lines (SrtpStream::session_lines).
  static void Prefetch(const void* session, uint32_t lines) noexcept;

  // kNo: Submit() asks for the queued packets' sessions first; kYes: the caller did
  // (Prefetch()).
  enum class SessionsCached : uint8_t { kNo, kYes };

  // Sends everything queued to the device in one enqueue, and returns at once: what
  // the device does not take is finished kDeviceError into `done` (room for kMaxBurst);
  // returns how many. The rest comes back from Collect().
  uint16_t Submit(SrtpDone* done, SessionsCached cached = SessionsCached::kNo) noexcept;

  // Takes what the device has given back since, never waiting: finished into `done`
  // (room for kOps), in the order they came back; returns how many. Ops out longer
  // than collect_bound_us come back kDeviceLost; when the device returns one later, it
  // is freed (packet and all) here and serves again.
  uint16_t Collect(SrtpDone* done) noexcept;

  // Collect(), waiting until nothing is out: at most collect_bound_us after the last
  // Submit(). For when the caller must hold no op (a grace period, a session change).
  uint16_t Drain(SrtpDone* done) noexcept;

  // Submit() and Drain() in one, `done` (room for kMaxBurst) in the order added: for a
  // caller that uses the batch synchronously only (no other Submit() outstanding).
  uint16_t Run(SrtpDone* done, SessionsCached cached = SessionsCached::kNo);

  uint16_t pending() const { return count_; }
  bool full() const { return count_ == kMaxBurst; }
  // Ops with the device, not yet collected nor given up on: while there are any, the
  // caller holds their packets' streams.
  uint16_t in_flight() const { return in_flight_; }
  // Ops given up on that the device still holds; ops it returned after the bound.
  uint32_t stranded() const { return stranded_; }
  uint64_t returned_late() const { return returned_late_; }

 private:
  // AEAD sessions made for a header length not met before, on trial while ops using
  // them are out.
  static constexpr uint8_t kMaxTrials = 4;
  struct Trial {
    SrtpStream* stream;
    void* session;  // nullptr: this entry is free
    uint16_t uses;  // ops out (or queued) that use it
    uint8_t slot;   // in stream->rtp_sessions
    bool kept;      // a packet using it went through
  };

  SrtpResult Refuse(SrtpStream* stream, SrtpResult result);
  // The AEAD session for an RTP header of `header_bytes` (RFC 7714 authenticates the
  // header, so each length has its own); nullptr with *refused set if none.
  // *trial: 1 + its index in trials_ if it is on trial, else 0.
  void* AeadRtpSession(SrtpStream* stream, uint16_t header_bytes, uint8_t* trial,
                       SrtpResult* refused);

  // Add and Finish come in eight variants, one per wire format (protect or unprotect,
  // RTP or RTCP, AES-CM + HMAC or AEAD), each compiled with its three choices fixed:
  // a packet takes three branches to its variant (no call through a pointer) and
  // none on them after.
  static constexpr uint8_t VariantOf(bool protect, bool rtcp, bool aead) {
    return static_cast<uint8_t>(protect << 2 | rtcp << 1 | aead);
  }
  template <bool kProtect, bool kRtcp, bool kAead>
  SrtpResult AddAs(rte_mbuf* m, uint16_t offset, SrtpStream* stream, uintptr_t user);
  template <bool kProtect, bool kRtcp, bool kAead>
  void FinishAs(rte_crypto_op* op, SrtpDone* done);
  // Finishes `op` (by its variant) into *done, or done[its place in the burst] while
  // Run() collects, and puts it back in service.
  void Finish(rte_crypto_op* op, SrtpDone* done);
  void EndTrialUse(uint8_t trial);  // frees a trial session no packet kept once unused
  uint16_t Enqueue(uint16_t count) noexcept;
  uint16_t Dequeue(rte_crypto_op** back, uint16_t room) noexcept;
  // Gives up on the ops out past their bound, into done[*n...].
  void GiveUpOnLate(uint64_t now, SrtpDone* done, uint16_t* n) noexcept;

  uint8_t device_;
  uint16_t qp_;
  rte_mempool* op_pool_;
  rte_mempool* session_pool_;
  ExtraSessionBudget* budget_;
  CryptoQueue* queue_;
  uint64_t collect_bound_tsc_;
  rte_crypto_op* all_[kOps] = {};  // every op the batch owns (none: no crypto device)
  rte_crypto_op* free_[kOps] = {};
  uint16_t free_count_ = 0;
  rte_crypto_op* queued_[kMaxBurst] = {};  // added since the last Submit()
  uint16_t count_ = 0;
  uint16_t in_flight_ = 0;
  uint64_t check_at_ = 0;  // no op out has its bound before this (TSC)
  bool in_order_ = false;  // Run() collects into done[place in the burst]
  Trial trials_[kMaxTrials] = {};
  uint32_t stranded_ = 0;
  uint64_t returned_late_ = 0;
};

}  // namespace sbc::dataplane
