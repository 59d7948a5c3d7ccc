#include "sbc/mgmt/base/drbg.h"

namespace sbc::mgmt::base {

Drbg::Drbg(std::string_view personalisation) {
  mbedtls_entropy_init(&entropy_);
  mbedtls_ctr_drbg_init(&drbg_);
  seed_result_ = mbedtls_ctr_drbg_seed(
      &drbg_, mbedtls_entropy_func, &entropy_,
      reinterpret_cast<const unsigned char*>(personalisation.data()), personalisation.size());
}

Drbg::~Drbg() {
  mbedtls_ctr_drbg_free(&drbg_);
  mbedtls_entropy_free(&entropy_);
}

}  // namespace sbc::mgmt::base
