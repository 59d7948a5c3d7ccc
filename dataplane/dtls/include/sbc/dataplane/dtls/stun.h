// STUN (RFC 8489, RFC 5389's successor) as an ICE-lite agent needs it (RFC 8445):
// binding requests checked with short-term credentials, answered with a success
// response that carries the source as XOR-MAPPED-ADDRESS, or with a 487 role conflict.
//
// Only a request whose FINGERPRINT and MESSAGE-INTEGRITY both hold is answered. What
// fails earlier is refused with its reason and never answered: a spoofed source would
// otherwise get our packets (RFC 8489 lets a server answer 400 or 401; ICE does not
// need it, the peer simply retransmits). The checks read the message in place and
// allocate nothing; HMAC-SHA1 is OpenSSL's, CRC-32 zlib's.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string_view>

#include "sbc/dataplane/media/media_spec.h"

namespace sbc::dataplane {

// X(enumerator, name shown in counters, what it means)
#define SBC_STUN_REFUSALS(X)                                                                       \
  X(kMalformed, "stun_malformed",                                                                  \
    "not a STUN message: short header, top bits set, no magic cookie, or a length the "            \
    "datagram does not hold")                                                                      \
  X(kBadAttribute, "stun_bad_attribute",                                                           \
    "an attribute runs past the message, or one we read has the wrong length")                     \
  X(kNotBindingRequest, "stun_not_binding_request", "a STUN message other than a request")         \
  X(kNoFingerprint, "stun_no_fingerprint", "no FINGERPRINT as the last attribute")                 \
  X(kBadFingerprint, "stun_bad_fingerprint", "FINGERPRINT does not match the message")             \
  X(kNoIntegrity, "stun_no_integrity", "no USERNAME or no MESSAGE-INTEGRITY")                      \
  X(kUnknownUsername, "stun_unknown_username", "USERNAME is not our ufrag followed by the peer's") \
  X(kBadIntegrity, "stun_bad_integrity", "MESSAGE-INTEGRITY does not match our password")          \
  X(kUnknownAttribute, "stun_unknown_attribute",                                                   \
    "an attribute we must understand (below 0x8000) that we do not know")                          \
  X(kNoPriority, "stun_no_priority", "a connectivity check without PRIORITY")                      \
  X(kRoleConflict, "stun_role_conflict",                                                           \
    "the peer claims the controlled role, which an ICE-lite agent always holds (answered 487)")    \
  X(kNoRole, "stun_no_role", "a check with neither ICE-CONTROLLING nor ICE-CONTROLLED")

enum class StunRefusal : uint8_t {
#define SBC_STUN_ENUM(e, name, what) e,
  SBC_STUN_REFUSALS(SBC_STUN_ENUM)
#undef SBC_STUN_ENUM
};
inline constexpr size_t kStunRefusalCount = 0
// NOLINTNEXTLINE(bugprone-macro-parentheses): each expansion is one term of the sum
#define SBC_STUN_COUNT(e, name, what) +1
    SBC_STUN_REFUSALS(SBC_STUN_COUNT)
#undef SBC_STUN_COUNT
    ;
// The counter name: "stun_bad_integrity". Any thread.
[[nodiscard]] std::string_view StunRefusalName(StunRefusal refusal) noexcept;

using StunTransactionId = std::array<uint8_t, 12>;

// The largest STUN message the checks read: a connectivity check is about a hundred
// bytes; longer ones are refused as malformed before any HMAC is computed.
inline constexpr size_t kMaxStunMessage = 1024;
// Room enough for any response this module writes.
inline constexpr size_t kMaxStunResponse = 128;

// A message whose header and attribute framing hold (RFC 8489 section 5), with the
// positions of the two attributes that protect it. Views into the caller's bytes.
struct StunFrame {
  uint16_t type = 0;
  StunTransactionId transaction_id{};
  std::span<const uint8_t> message;  // header and attributes: exactly the STUN length
  // Offsets into `message` of the attribute headers; 0 where absent (the header
  // takes the first 20 bytes, so 0 is never an attribute).
  size_t integrity_at = 0;
  size_t fingerprint_at = 0;
};

// Frames `datagram` (a UDP payload; bytes past the STUN length are refused, as
// malformed). Any thread.
[[nodiscard]] std::expected<StunFrame, StunRefusal> FrameStun(
    std::span<const uint8_t> datagram) noexcept;
// FINGERPRINT present, last, and matching. Any thread.
[[nodiscard]] bool FingerprintMatches(const StunFrame& frame) noexcept;
// MESSAGE-INTEGRITY present and matching HMAC-SHA1 keyed with `key` (for short-term
// credentials, the password as it is). Compared in constant time. Any thread.
[[nodiscard]] bool IntegrityMatches(const StunFrame& frame, std::string_view key) noexcept;

// What a connectivity check that passed says (RFC 8445 section 7.1.2).
struct StunBindingCheck {
  StunTransactionId transaction_id{};
  uint32_t priority = 0;
  bool use_candidate = false;  // the controlling peer nominates this pair
  uint64_t tie_breaker = 0;    // ICE-CONTROLLING's
};

// Checks `datagram` as a connectivity check to an ICE-lite agent whose ufrag and
// password are `local_*` from the peer whose ufrag is `remote_ufrag`: framing,
// FINGERPRINT, USERNAME "local:remote", MESSAGE-INTEGRITY with our password, then
// PRIORITY and the roles (the peer must be controlling). Fails closed with the first
// reason found. Slow-path thread (any thread: it keeps no state).
[[nodiscard]] std::expected<StunBindingCheck, StunRefusal> CheckBindingRequest(
    std::span<const uint8_t> datagram, std::string_view local_ufrag, std::string_view local_pwd,
    std::string_view remote_ufrag) noexcept;

// Writes the success response to a check into `out`: XOR-MAPPED-ADDRESS of `source`
// (the check's source address and port), MESSAGE-INTEGRITY with `local_pwd`,
// FINGERPRINT. Returns its size; 0 when `out` is shorter than kMaxStunResponse or
// `source` is neither IPv4 nor IPv6. Any thread.
[[nodiscard]] size_t WriteBindingSuccess(const StunTransactionId& transaction_id,
                                         const MediaEndpoint& source, std::string_view local_pwd,
                                         std::span<uint8_t> out) noexcept;
// Writes a 487 (Role Conflict) error response, protected the same way. Returns its
// size; 0 when `out` is shorter than kMaxStunResponse. Any thread.
[[nodiscard]] size_t WriteRoleConflict(const StunTransactionId& transaction_id,
                                       std::string_view local_pwd, std::span<uint8_t> out) noexcept;

// The mapped address a success response carries (what a peer reads back from
// XOR-MAPPED-ADDRESS); nullopt if it has none or it is malformed. Tests and tools.
[[nodiscard]] std::optional<MediaEndpoint> XorMappedAddress(const StunFrame& frame) noexcept;

}  // namespace sbc::dataplane
