// One direction of one SRTP stream as the fast path holds it: the crypto device's
// sessions for SRTP and SRTCP (key schedules live in the device's session pool), the
// session salts for the IVs, the packet index windows, and counters. Built and
// released on the control lcore by SrtpStreamFactory (key derivation, RFC 3711 §4.3,
// through the crypto device); used on one worker only (symmetric RSS keeps a
// stream's packets on one worker), so nothing in it is locked. Its counters are the
// one thing another thread reads while it runs (listings): the worker stores them with
// AddShared, readers load them with LoadShared.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <string>

#include "sbc/dataplane/core/shared_field.h"
#include "sbc/dataplane/srtp/srtp_index.h"
#include "sbc/dataplane/srtp/srtp_suite.h"

struct rte_mempool;

namespace sbc::dataplane {

enum class SrtpDirection : uint8_t {
  kProtect,    // plain in, SRTP out: we encrypt toward a leg
  kUnprotect,  // SRTP in, plain out: we authenticate and decrypt from a leg
};

// Written by the stream's worker only (AddShared); read by others with LoadShared.
struct SrtpStreamCounters {
  uint64_t packets = 0;  // SRTP + SRTCP done
  uint64_t bytes = 0;    // plaintext bytes
  uint64_t auth_failures = 0;
  uint64_t replays = 0;    // an index seen before, or older than the window
  uint64_t malformed = 0;  // too short, wrong version, no room for the tag
};

// The crypto sessions a device can hold are a pool shared by every stream; AEAD
// streams add sessions from the workers (one per RTP header length, see SrtpStream).
// This bounds how many such extra sessions exist at once, so no sender can drain the
// pool that new calls' streams are built from. Workers take, the control lcore (and a
// worker whose trial failed) gives back: an atomic count, touched only when a session
// is made or freed.
class ExtraSessionBudget {
 public:
  explicit ExtraSessionBudget(uint32_t limit) : limit_(limit) {}
  // True (and counted) if one more extra session may be made. Any thread.
  [[nodiscard]] bool TryTake() noexcept {
    if (in_use_.fetch_add(1, std::memory_order_relaxed) < limit_) return true;
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void Give() noexcept { in_use_.fetch_sub(1, std::memory_order_relaxed); }
  uint32_t in_use() const noexcept { return in_use_.load(std::memory_order_relaxed); }

 private:
  const uint32_t limit_;
  std::atomic<uint32_t> in_use_{0};
};

struct alignas(64) SrtpStream {
  // AEAD sessions fix the AAD length, which is the RTP header's (CSRCs and header
  // extension vary it), so SRTP keeps one session per header length it has met, up
  // to this many; a packet with yet another length is refused (kUnsupported). A new
  // length's session is kept only once a packet of that length authenticated (see
  // SrtpBatch), and counts against the device's ExtraSessionBudget.
  static constexpr int kRtpSessions = 6;
  // SSRCs one stream may carry under its key, each with its own index window: a sender
  // must never encrypt one (SSRC, index) twice (with AES-CM a two-time pad, with GCM a
  // nonce reuse that gives away the authentication key), and a receiver must remember
  // an SSRC it moved away from, or that SSRC's old packets would authenticate again.
  // A further SSRC needs new keys (kUnsupported until then).
  static constexpr int kSsrcs = 4;
  struct OtherSsrc {
    bool used = false;
    uint32_t ssrc = 0;
    PacketIndexWindow window;
  };
  struct RtpSession {
    void* session = nullptr;
    uint16_t header_bytes = 0;  // AAD length (AEAD); 0 for AES-CM, whose one session fits all
  };

  // An RTP packet reads and writes the first two cache lines only (the fields up to
  // the first two RTP sessions); RTCP and the AEAD key come after.
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  SrtpDirection direction = SrtpDirection::kProtect;
  bool ssrc_known = false;
  // The SSRC last used (authenticated, when unprotecting), whose window is rtp_index;
  // the others it has used are in other_ssrcs.
  uint32_t ssrc = 0;
  uint8_t rtp_salt[14] = {};
  // Which 64-byte lines of its crypto sessions held anything once they were made (bit
  // n: line n): the lines a prefetch asks for. With this PMD about 14 of 23; the
  // rest are other algorithms' room in a union. Only speed depends on it.
  uint32_t session_lines = 0;
  PacketIndexWindow rtp_index;
  SrtpStreamCounters counters;
  RtpSession rtp_sessions[kRtpSessions];
  uint32_t next_rtcp_index = 0;  // kProtect: the SRTCP index the next packet gets
  uint8_t rtcp_salt[14] = {};
  void* rtcp_session = nullptr;
  PacketIndexWindow rtcp_index;
  // AEAD only: the SRTP session key, to make a session for another header length.
  uint8_t rtp_aead_key[32] = {};
  // Cold: touched only when the SSRC changes.
  OtherSsrc other_ssrcs[kSsrcs - 1];

  // The window of `ssrc`: rtp_index, one of other_ssrcs', or nullptr if unseen. Worker.
  [[nodiscard]] const PacketIndexWindow* WindowOf(uint32_t id) const noexcept {
    if (ssrc_known && ssrc == id) return &rtp_index;  // nearly every packet: inline
    return OtherWindowOf(id);
  }
  // Whether an unseen SSRC can still be taken.
  [[nodiscard]] bool HasRoomForSsrc() const noexcept;
  // Makes `ssrc` the current one (its window rtp_index), the one before it kept in
  // other_ssrcs; a new SSRC starts a fresh window. nullptr if it is new and there is
  // no room. Worker.
  PacketIndexWindow* MakeCurrent(uint32_t id) noexcept {
    if (ssrc_known && ssrc == id) return &rtp_index;
    return SwitchTo(id);
  }

 private:
  [[nodiscard]] const PacketIndexWindow* OtherWindowOf(uint32_t id) const noexcept;
  PacketIndexWindow* SwitchTo(uint32_t id) noexcept;
};

// The fast path's per-stream-direction state; key schedules live in the device.
static_assert(sizeof(SrtpStream) <= 512,
              "fast-path state of one stream direction is budgeted at 512 bytes");

// The 64-byte lines of `object` (a crypto session, `size` bytes) that are not all zero,
// as a bit mask (lines past the 32nd are left out: they are never asked for ahead).
[[nodiscard]] uint32_t LinesInUse(const void* object, uint32_t size);

// Were `keys` what `stream` was built from? Compares the suite and the derived session
// salts: each is a PRF output of the master key and salt (RFC 3711 4.3), so equal salts
// mean the same master key but for a chance of 2^-96 or less, and no key is kept to
// compare with. Control lcore.
[[nodiscard]] bool BuiltFrom(const SrtpStream& stream, const SrtpStreamKeys& keys);

// Builds streams on the control lcore: derives the session keys from a master key
// through the crypto device (queue pair `control_qp`) and creates the sessions.
class SrtpStreamFactory {
 public:
  // `extra_sessions`: the budget workers take AEAD header-length sessions from (see
  // ExtraSessionBudget); Release() gives theirs back. nullptr: none are counted.
  SrtpStreamFactory(uint8_t device, uint16_t control_qp, rte_mempool* session_pool,
                    rte_mempool* op_pool, ExtraSessionBudget* extra_sessions = nullptr);
  ~SrtpStreamFactory();
  SrtpStreamFactory(const SrtpStreamFactory&) = delete;
  SrtpStreamFactory& operator=(const SrtpStreamFactory&) = delete;

  // RFC 3711 §4.3.1 with key derivation rate 0; AEAD suites as RFC 7714 §11 says.
  [[nodiscard]] std::expected<SrtpStreamKeys, std::string> Derive(const SrtpMasterKey& master);
  // A stream from session keys (tests give RFC vectors' session keys directly).
  [[nodiscard]] std::expected<void, std::string> Build(const SrtpStreamKeys& keys,
                                                       SrtpDirection direction, SrtpStream* stream);
  // Frees the stream's sessions (after an RCU grace period: no worker holds it).
  void Release(SrtpStream* stream);

 private:
  [[nodiscard]] std::expected<void, std::string> Prf(const uint8_t* key, uint8_t key_bytes,
                                                     const uint8_t* salt, uint8_t salt_bytes,
                                                     uint8_t label, uint8_t* out, size_t out_bytes);
  uint8_t device_;
  uint16_t qp_;
  rte_mempool* session_pool_;
  rte_mempool* op_pool_;
  rte_mempool* mbuf_pool_ = nullptr;  // a few small buffers for the PRF's input
  ExtraSessionBudget* extra_sessions_ = nullptr;
};

// A session for one direction of one packet kind (used by the factory and, for a new
// AEAD header length, by the worker). nullptr on failure.
void* CreateSrtpSession(uint8_t device, rte_mempool* session_pool, SrtpSuite suite,
                        SrtpDirection direction, bool rtcp, const SrtpSessionKeys& keys,
                        uint16_t aead_aad_bytes);

}  // namespace sbc::dataplane
