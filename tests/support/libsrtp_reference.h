// libsrtp2 as the reference SRTP implementation in tests: one session, one direction,
// any SSRC, the same suites and key layout as the dataplane's SrtpMasterKey.
#pragma once

#include <gtest/gtest.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <vector>

#include "sbc/dataplane/srtp/srtp_suite.h"

namespace sbc::testing {

using dataplane::SizesOf;
using dataplane::SrtpMasterKey;
using dataplane::SrtpSuite;
using dataplane::SrtpSuiteSizes;
using Bytes = std::vector<uint8_t>;

class Libsrtp {
 public:
  // Before the first session; once per process however often it is called.
  static void Init() {
    static const srtp_err_status_t status = srtp_init();
    ASSERT_EQ(status, srtp_err_status_ok);
  }

  Libsrtp(const SrtpMasterKey& master, bool outbound) {
    srtp_policy_t policy{};
    switch (master.suite) {
      case SrtpSuite::kAesCm128HmacSha1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        break;
      case SrtpSuite::kAesCm128HmacSha1_32:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);  // SRTCP keeps 80 bits
        break;
      case SrtpSuite::kAeadAes128Gcm:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;
      case SrtpSuite::kAeadAes256Gcm:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
        break;
    }
    const SrtpSuiteSizes sizes = SizesOf(master.suite);
    key_.assign(master.key, master.key + sizes.master_key);
    key_.insert(key_.end(), master.salt, master.salt + sizes.master_salt);
    policy.key = key_.data();
    policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy.window_size = 128;
    EXPECT_EQ(srtp_create(&session_, &policy), srtp_err_status_ok);
  }
  ~Libsrtp() { srtp_dealloc(session_); }
  // The packet out, or empty if libsrtp refused it.
  Bytes Run(Bytes packet, bool rtcp, bool protect) {
    int len = static_cast<int>(packet.size());
    packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
    srtp_err_status_t r = protect ? (rtcp ? srtp_protect_rtcp(session_, packet.data(), &len)
                                          : srtp_protect(session_, packet.data(), &len))
                                  : (rtcp ? srtp_unprotect_rtcp(session_, packet.data(), &len)
                                          : srtp_unprotect(session_, packet.data(), &len));
    if (r != srtp_err_status_ok) return {};
    packet.resize(static_cast<size_t>(len));
    return packet;
  }

 private:
  Bytes key_;
  srtp_t session_ = nullptr;
};

}  // namespace sbc::testing
