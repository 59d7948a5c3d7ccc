#include "sbc/dataplane/dtls/stun.h"

#include <algorithm>
#include <cstring>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

namespace sbc::dataplane {
namespace {

constexpr size_t kHeader = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint32_t kFingerprintXor = 0x5354554E;  // "STUN", RFC 8489 section 14.7
constexpr size_t kIntegrityLength = 20;           // HMAC-SHA1

// Message types (RFC 8489 section 5): method binding, by class.
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kBindingError = 0x0111;

// Attributes (RFC 8489 section 18.3, RFC 8445 section 16.1).
constexpr uint16_t kUsername = 0x0006;
constexpr uint16_t kMessageIntegrity = 0x0008;
constexpr uint16_t kErrorCode = 0x0009;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kPriority = 0x0024;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint16_t kIceControlled = 0x8029;
constexpr uint16_t kIceControlling = 0x802A;
// Types from 0x8000 up may be ignored when not understood; those below may not.
constexpr uint16_t kFirstOptional = 0x8000;

uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t Read32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
uint64_t Read64(const uint8_t* p) { return static_cast<uint64_t>(Read32(p)) << 32 | Read32(p + 4); }
void Write16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void Write32(uint8_t* p, uint32_t v) {
  Write16(p, static_cast<uint16_t>(v >> 16));
  Write16(p + 2, static_cast<uint16_t>(v));
}
size_t Padded(size_t length) { return (length + 3) & ~size_t{3}; }

// One attribute as framed: its type and value (without padding).
struct Attribute {
  uint16_t type;
  std::span<const uint8_t> value;
  size_t at;  // offset of its header in the message
};

// Calls visit(attribute) for each attribute before `end` (an offset; the whole message
// when 0) until visit returns false. The message is framed: every attribute fits.
template <typename Visit>
void ForEachAttribute(const StunFrame& frame, size_t end, Visit visit) {
  const std::span<const uint8_t> m = frame.message;
  if (end == 0) end = m.size();
  for (size_t at = kHeader; at < end;) {
    const uint16_t length = Read16(&m[at + 2]);
    if (!visit(Attribute{Read16(&m[at]), m.subspan(at + 4, length), at})) return;
    at += 4 + Padded(length);
  }
}

// HMAC-SHA1 of the message up to the attribute at `end`, its header's length field
// set as if that attribute (MESSAGE-INTEGRITY, 24 bytes) ended the message.
bool Integrity(std::span<const uint8_t> message, size_t end, std::string_view key,
               uint8_t (&mac)[kIntegrityLength]) {
  uint8_t copy[kMaxStunMessage];
  if (end > sizeof copy || end < kHeader) return false;
  std::memcpy(copy, message.data(), end);
  Write16(copy + 2, static_cast<uint16_t>(end + 4 + kIntegrityLength - kHeader));
  unsigned int length = 0;
  const unsigned char* done =
      HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), copy, end, mac, &length);
  return done != nullptr && length == kIntegrityLength;
}

// CRC-32 of the message up to `end` XOR "STUN"; the header's length already counts
// the FINGERPRINT attribute that follows.
uint32_t Fingerprint(std::span<const uint8_t> message, size_t end) {
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), message.data(), static_cast<uInt>(end));
  return static_cast<uint32_t>(crc) ^ kFingerprintXor;
}

// Appends MESSAGE-INTEGRITY and FINGERPRINT to the message of `length` bytes in
// `out` (which has room), fixing the header's length for each. Returns the new size.
size_t Protect(uint8_t* out, size_t length, std::string_view key) {
  uint8_t mac[kIntegrityLength];
  if (!Integrity({out, length}, length, key, mac)) return 0;
  Write16(out + length, kMessageIntegrity);
  Write16(out + length + 2, kIntegrityLength);
  std::memcpy(out + length + 4, mac, kIntegrityLength);
  length += 4 + kIntegrityLength;
  Write16(out + 2, static_cast<uint16_t>(length + 8 - kHeader));
  const uint32_t fingerprint = Fingerprint({out, length}, length);
  Write16(out + length, kFingerprint);
  Write16(out + length + 2, 4);
  Write32(out + length + 4, fingerprint);
  return length + 8;
}

size_t WriteHeader(uint8_t* out, uint16_t type, const StunTransactionId& transaction_id) {
  Write16(out, type);
  Write16(out + 2, 0);  // Protect() sets it
  Write32(out + 4, kMagicCookie);
  std::memcpy(out + 8, transaction_id.data(), transaction_id.size());
  return kHeader;
}

}  // namespace

std::string_view StunRefusalName(StunRefusal refusal) noexcept {
  switch (refusal) {
#define SBC_STUN_NAME(e, name, what) \
  case StunRefusal::e:               \
    return name;
    SBC_STUN_REFUSALS(SBC_STUN_NAME)
#undef SBC_STUN_NAME
  }
  return "stun_unknown_refusal";
}

std::expected<StunFrame, StunRefusal> FrameStun(std::span<const uint8_t> datagram) noexcept {
  if (datagram.size() < kHeader || datagram.size() > kMaxStunMessage)
    return std::unexpected(StunRefusal::kMalformed);
  const uint8_t* p = datagram.data();
  const size_t length = Read16(p + 2);
  if ((p[0] & 0xC0) != 0 || length % 4 != 0 || Read32(p + 4) != kMagicCookie ||
      kHeader + length != datagram.size())
    return std::unexpected(StunRefusal::kMalformed);
  StunFrame frame;
  frame.type = Read16(p);
  std::copy_n(p + 8, frame.transaction_id.size(), frame.transaction_id.begin());
  frame.message = datagram;
  for (size_t at = kHeader; at < datagram.size();) {
    if (datagram.size() - at < 4) return std::unexpected(StunRefusal::kBadAttribute);
    const uint16_t type = Read16(p + at);
    const size_t value = Read16(p + at + 2);
    if (datagram.size() - at - 4 < Padded(value))
      return std::unexpected(StunRefusal::kBadAttribute);
    if (type == kMessageIntegrity && frame.integrity_at == 0) {
      if (value != kIntegrityLength) return std::unexpected(StunRefusal::kBadAttribute);
      frame.integrity_at = at;
    } else if (type == kFingerprint && frame.fingerprint_at == 0) {
      if (value != 4) return std::unexpected(StunRefusal::kBadAttribute);
      frame.fingerprint_at = at;
    }
    at += 4 + Padded(value);
  }
  return frame;
}

bool FingerprintMatches(const StunFrame& frame) noexcept {
  const size_t at = frame.fingerprint_at;
  if (at == 0 || at + 8 != frame.message.size()) return false;
  return Read32(&frame.message[at + 4]) == Fingerprint(frame.message, at);
}

bool IntegrityMatches(const StunFrame& frame, std::string_view key) noexcept {
  const size_t at = frame.integrity_at;
  if (at == 0) return false;
  uint8_t mac[kIntegrityLength];
  if (!Integrity(frame.message, at, key, mac)) return false;
  return CRYPTO_memcmp(mac, &frame.message[at + 4], kIntegrityLength) == 0;
}

std::expected<StunBindingCheck, StunRefusal> CheckBindingRequest(
    std::span<const uint8_t> datagram, std::string_view local_ufrag, std::string_view local_pwd,
    std::string_view remote_ufrag) noexcept {
  const auto frame = FrameStun(datagram);
  if (!frame) return std::unexpected(frame.error());
  if (frame->type != kBindingRequest) return std::unexpected(StunRefusal::kNotBindingRequest);
  if (frame->fingerprint_at == 0 || frame->fingerprint_at + 8 != datagram.size())
    return std::unexpected(StunRefusal::kNoFingerprint);
  if (!FingerprintMatches(*frame)) return std::unexpected(StunRefusal::kBadFingerprint);
  if (frame->integrity_at == 0) return std::unexpected(StunRefusal::kNoIntegrity);

  // Only what precedes MESSAGE-INTEGRITY is protected; what follows it (but
  // FINGERPRINT) is ignored (RFC 8489 section 14.5).
  std::span<const uint8_t> username;
  bool has_username = false;
  ForEachAttribute(*frame, frame->integrity_at, [&](const Attribute& a) {
    if (a.type != kUsername) return true;
    username = a.value;
    has_username = true;
    return false;
  });
  if (!has_username || local_ufrag.empty() || remote_ufrag.empty())
    return std::unexpected(StunRefusal::kNoIntegrity);
  // "ours:theirs" (RFC 8445 section 7.2.2): the peer names us first.
  const std::string_view name(reinterpret_cast<const char*>(username.data()), username.size());
  if (name.size() != local_ufrag.size() + 1 + remote_ufrag.size() ||
      name.substr(0, local_ufrag.size()) != local_ufrag || name[local_ufrag.size()] != ':' ||
      name.substr(local_ufrag.size() + 1) != remote_ufrag)
    return std::unexpected(StunRefusal::kUnknownUsername);
  if (!IntegrityMatches(*frame, local_pwd)) return std::unexpected(StunRefusal::kBadIntegrity);

  StunBindingCheck check;
  check.transaction_id = frame->transaction_id;
  bool has_priority = false, controlling = false, controlled = false;
  StunRefusal refusal = StunRefusal::kMalformed;
  bool refused = false;
  ForEachAttribute(*frame, frame->integrity_at, [&](const Attribute& a) {
    switch (a.type) {
      case kUsername:
        return true;
      case kPriority:
        if (a.value.size() != 4) break;
        check.priority = Read32(a.value.data());
        has_priority = true;
        return true;
      case kUseCandidate:
        if (!a.value.empty()) break;
        check.use_candidate = true;
        return true;
      case kIceControlling:
        if (a.value.size() != 8) break;
        check.tie_breaker = Read64(a.value.data());
        controlling = true;
        return true;
      case kIceControlled:
        if (a.value.size() != 8) break;
        controlled = true;
        return true;
      default:
        if (a.type >= kFirstOptional) return true;
        refusal = StunRefusal::kUnknownAttribute;
        refused = true;
        return false;
    }
    refusal = StunRefusal::kBadAttribute;  // a known attribute of the wrong length
    refused = true;
    return false;
  });
  if (refused) return std::unexpected(refusal);
  if (!has_priority) return std::unexpected(StunRefusal::kNoPriority);
  if (controlled) return std::unexpected(StunRefusal::kRoleConflict);
  if (!controlling) return std::unexpected(StunRefusal::kNoRole);
  return check;
}

size_t WriteBindingSuccess(const StunTransactionId& transaction_id, const MediaEndpoint& source,
                           std::string_view local_pwd, std::span<uint8_t> out) noexcept {
  if (out.size() < kMaxStunResponse) return 0;
  if (source.family != Family::kIpv4 && source.family != Family::kIpv6) return 0;
  uint8_t* p = out.data();
  size_t length = WriteHeader(p, kBindingSuccess, transaction_id);
  // XOR-MAPPED-ADDRESS (RFC 8489 section 14.2): the port XOR the cookie's top half,
  // the address XOR the cookie (and, for IPv6, the transaction ID after it).
  const bool v4 = source.family == Family::kIpv4;
  const size_t address_length = v4 ? 4 : 16;
  Write16(p + length, kXorMappedAddress);
  Write16(p + length + 2, static_cast<uint16_t>(4 + address_length));
  p[length + 4] = 0;
  p[length + 5] = v4 ? 0x01 : 0x02;
  Write16(p + length + 6, static_cast<uint16_t>(source.port ^ (kMagicCookie >> 16)));
  // The header's bytes 4..19 are the cookie then the transaction ID: the XOR mask.
  for (size_t i = 0; i < address_length; ++i)
    p[length + 8 + i] = static_cast<uint8_t>(source.address[i] ^ p[4 + i]);
  length += 8 + address_length;
  return Protect(p, length, local_pwd);
}

size_t WriteRoleConflict(const StunTransactionId& transaction_id, std::string_view local_pwd,
                         std::span<uint8_t> out) noexcept {
  if (out.size() < kMaxStunResponse) return 0;
  uint8_t* p = out.data();
  size_t length = WriteHeader(p, kBindingError, transaction_id);
  // ERROR-CODE (RFC 8489 section 14.8): class 4, number 87, and its reason phrase.
  constexpr std::string_view kReason = "Role Conflict";
  Write16(p + length, kErrorCode);
  Write16(p + length + 2, static_cast<uint16_t>(4 + kReason.size()));
  Write16(p + length + 4, 0);
  p[length + 6] = 4;
  p[length + 7] = 87;
  std::memcpy(p + length + 8, kReason.data(), kReason.size());
  const size_t value = 4 + kReason.size();
  std::memset(p + length + 4 + value, 0, Padded(value) - value);
  length += 4 + Padded(value);
  return Protect(p, length, local_pwd);
}

std::optional<MediaEndpoint> XorMappedAddress(const StunFrame& frame) noexcept {
  std::optional<MediaEndpoint> found;
  ForEachAttribute(frame, frame.integrity_at, [&](const Attribute& a) {
    if (a.type != kXorMappedAddress) return true;
    if (a.value.size() < 4) return false;
    const uint8_t family = a.value[1];
    const size_t address_length = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
    if (address_length == 0 || a.value.size() != 4 + address_length) return false;
    MediaEndpoint endpoint;
    endpoint.family = family == 0x01 ? Family::kIpv4 : Family::kIpv6;
    endpoint.port = static_cast<uint16_t>(Read16(&a.value[2]) ^ (kMagicCookie >> 16));
    for (size_t i = 0; i < address_length; ++i)
      endpoint.address[i] = static_cast<uint8_t>(a.value[4 + i] ^ frame.message[4 + i]);
    found = endpoint;
    return false;
  });
  return found;
}

}  // namespace sbc::dataplane
