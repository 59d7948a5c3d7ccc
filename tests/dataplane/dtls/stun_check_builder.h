// Builds STUN connectivity checks as a WebRTC peer sends them (Chromium's attribute
// order: USERNAME, GOOG-NETWORK-INFO, ICE-CONTROLLING, USE-CANDIDATE, PRIORITY,
// MESSAGE-INTEGRITY, FINGERPRINT), written here independently of stun.cc so the two
// check each other. Tests state what they change; `mutate` edits the finished bytes.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

namespace sbc::testing {

struct StunCheckSpec {
  std::string username = "ourufrag:peer";
  std::string password = "our-password-of-24-chars";
  std::array<uint8_t, 12> transaction_id{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint16_t type = 0x0001;  // binding request
  bool with_username = true;
  bool controlling = true;
  bool controlled = false;
  bool use_candidate = true;
  bool with_priority = true;
  uint32_t priority = 0x6E7F1EFF;
  // Attributes (type, value) put before MESSAGE-INTEGRITY, and after it.
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> extra_before, extra_after;
  bool with_integrity = true;
  bool with_fingerprint = true;
  std::function<void(std::vector<uint8_t>&)> mutate;
};

inline void PutAttribute(std::vector<uint8_t>& m, uint16_t type, const std::vector<uint8_t>& v) {
  m.push_back(static_cast<uint8_t>(type >> 8));
  m.push_back(static_cast<uint8_t>(type));
  m.push_back(static_cast<uint8_t>(v.size() >> 8));
  m.push_back(static_cast<uint8_t>(v.size()));
  m.insert(m.end(), v.begin(), v.end());
  while (m.size() % 4 != 0) m.push_back(0);
}

inline void SetStunLength(std::vector<uint8_t>& m, size_t length) {
  m[2] = static_cast<uint8_t>(length >> 8);
  m[3] = static_cast<uint8_t>(length);
}

inline std::vector<uint8_t> BuildStunCheck(const StunCheckSpec& spec) {
  std::vector<uint8_t> m;
  m.reserve(256);  // growing from a literal of 8 bytes trips GCC 12's -Warray-bounds
  for (const uint8_t b :
       {static_cast<uint8_t>(spec.type >> 8), static_cast<uint8_t>(spec.type), uint8_t{0},
        uint8_t{0}, uint8_t{0x21}, uint8_t{0x12}, uint8_t{0xA4}, uint8_t{0x42}})
    m.push_back(b);
  for (const uint8_t b : spec.transaction_id) m.push_back(b);
  if (spec.with_username)
    PutAttribute(m, 0x0006, std::vector<uint8_t>(spec.username.begin(), spec.username.end()));
  PutAttribute(m, 0xC057, {0, 1, 0, 10});  // GOOG-NETWORK-INFO: optional, ignored
  if (spec.controlling) PutAttribute(m, 0x802A, {1, 2, 3, 4, 5, 6, 7, 8});
  if (spec.controlled) PutAttribute(m, 0x8029, {8, 7, 6, 5, 4, 3, 2, 1});
  if (spec.use_candidate) PutAttribute(m, 0x0025, {});
  if (spec.with_priority)
    PutAttribute(
        m, 0x0024,
        {static_cast<uint8_t>(spec.priority >> 24), static_cast<uint8_t>(spec.priority >> 16),
         static_cast<uint8_t>(spec.priority >> 8), static_cast<uint8_t>(spec.priority)});
  for (const auto& [type, value] : spec.extra_before) PutAttribute(m, type, value);
  if (spec.with_integrity) {
    SetStunLength(m, m.size() + 24 - 20);
    std::array<uint8_t, 20> mac{};
    unsigned int length = 0;
    HMAC(EVP_sha1(), spec.password.data(), static_cast<int>(spec.password.size()), m.data(),
         m.size(), mac.data(), &length);
    PutAttribute(m, 0x0008, std::vector<uint8_t>(mac.begin(), mac.end()));
  }
  for (const auto& [type, value] : spec.extra_after) PutAttribute(m, type, value);
  if (spec.with_fingerprint) {
    SetStunLength(m, m.size() + 8 - 20);
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, m.data(), static_cast<uInt>(m.size()))) ^ 0x5354554E;
    PutAttribute(m, 0x8028,
                 {static_cast<uint8_t>(crc >> 24), static_cast<uint8_t>(crc >> 16),
                  static_cast<uint8_t>(crc >> 8), static_cast<uint8_t>(crc)});
  } else {
    SetStunLength(m, m.size() - 20);
  }
  if (spec.mutate) spec.mutate(m);
  return m;
}

}  // namespace sbc::testing
