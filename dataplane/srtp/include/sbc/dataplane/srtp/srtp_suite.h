// The SRTP crypto suites the media relay speaks (SDES, RFC 4568 names), with the
// sizes each one fixes: RFC 3711 (AES-CM + HMAC-SHA1), RFC 7714 (AES-GCM).
#pragma once

#include <cstdint>

namespace sbc::dataplane {

enum class SrtpSuite : uint8_t {
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

struct SrtpSuiteSizes {
  uint8_t master_key;   // bytes; also the session cipher key
  uint8_t master_salt;  // bytes; also the session salt
  uint8_t auth_key;     // HMAC-SHA1 session key (0 for AEAD)
  uint8_t rtp_tag;      // bytes appended to SRTP
  uint8_t rtcp_tag;     // bytes appended to SRTCP (after E||index for AES-CM)
  bool aead;
};

[[nodiscard]] constexpr SrtpSuiteSizes SizesOf(SrtpSuite suite) {
  switch (suite) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      return {16, 14, 20, 10, 10, false};
    // RFC 3711 / 4568: the 32-bit tag is for SRTP only; SRTCP keeps 80 bits.
    case SrtpSuite::kAesCm128HmacSha1_32:
      return {16, 14, 20, 4, 10, false};
    case SrtpSuite::kAeadAes128Gcm:
      return {16, 12, 0, 16, 16, true};
    case SrtpSuite::kAeadAes256Gcm:
      return {32, 12, 0, 16, 16, true};
  }
  return {};
}

[[nodiscard]] const char* SrtpSuiteName(SrtpSuite suite);

// Master key and salt of one direction of one stream, as SDES or DTLS-SRTP hand them
// over. Secret: never logged.
struct SrtpMasterKey {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  uint8_t key[32] = {};
  uint8_t salt[14] = {};
};

// Session keys derived from a master key (RFC 3711 §4.3), for SRTP or for SRTCP.
struct SrtpSessionKeys {
  uint8_t cipher[32] = {};
  uint8_t auth[20] = {};
  uint8_t salt[14] = {};
};

struct SrtpStreamKeys {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  SrtpSessionKeys rtp, rtcp;
};

// Overwrites key material where it lies, in a way the compiler may not drop as a dead
// store (an assignment of {} before it goes out of scope can be). Any thread.
void Wipe(SrtpMasterKey& key) noexcept;
void Wipe(SrtpStreamKeys& keys) noexcept;

}  // namespace sbc::dataplane
