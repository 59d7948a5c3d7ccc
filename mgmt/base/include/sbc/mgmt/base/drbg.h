// mbedTLS's CTR_DRBG seeded from the system's entropy source, set up and freed in one
// place. Each user names itself in the personalisation string (NIST SP 800-90A 8.7.1:
// it keeps instances apart even if their entropy input were alike). mbedTLS is built
// with MBEDTLS_THREADING_C, so one Drbg may serve several threads. Neither copied nor
// moved: mbedTLS keeps a pointer to the entropy context.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include <string_view>

namespace sbc::mgmt::base {

class Drbg {
 public:
  explicit Drbg(std::string_view personalisation);
  ~Drbg();
  Drbg(const Drbg&) = delete;
  Drbg& operator=(const Drbg&) = delete;

  // 0 once seeded, else the mbedTLS error seeding failed with (draw nothing then).
  int seed_result() const { return seed_result_; }
  bool ok() const { return seed_result_ == 0; }
  // The f_rng / p_rng pair mbedTLS functions take.
  static int Draw(void* drbg, unsigned char* out, size_t length) {
    return mbedtls_ctr_drbg_random(drbg, out, length);
  }
  mbedtls_ctr_drbg_context* context() { return &drbg_; }

 private:
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  int seed_result_ = 0;
};

}  // namespace sbc::mgmt::base
