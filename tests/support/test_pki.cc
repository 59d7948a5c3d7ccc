#include "support/test_pki.h"

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <stdexcept>

namespace sbc::testing {

struct TestPki::Impl {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_pk_context ca_key;
  std::string ca_name;
  Impl() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&ca_key);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0) != 0)
      throw std::runtime_error("drbg");
  }
  ~Impl() {
    mbedtls_pk_free(&ca_key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  void NewKey(mbedtls_pk_context* key) {
    if (mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key), mbedtls_ctr_drbg_random, &drbg) != 0)
      throw std::runtime_error("key generation");
  }
  std::string KeyPem(mbedtls_pk_context* key) {
    unsigned char buf[2048];
    if (mbedtls_pk_write_key_pem(key, buf, sizeof(buf)) != 0) throw std::runtime_error("key pem");
    return reinterpret_cast<char*>(buf);
  }
  std::string Certificate(mbedtls_pk_context* subject_key, const std::string& subject, uint64_t serial,
                          bool is_ca, const char* not_before, const char* not_after) {
    mbedtls_x509write_cert crt;
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi sn;
    mbedtls_mpi_init(&sn);
    mbedtls_mpi_lset(&sn, static_cast<mbedtls_mpi_sint>(serial));
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &ca_key);
    int ret = mbedtls_x509write_crt_set_subject_name(&crt, ("CN=" + subject).c_str());
    ret |= mbedtls_x509write_crt_set_issuer_name(&crt, ("CN=" + ca_name).c_str());
    ret |= mbedtls_x509write_crt_set_serial(&crt, &sn);
    ret |= mbedtls_x509write_crt_set_validity(&crt, not_before, not_after);
    ret |= mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca ? 1 : 0, is_ca ? 0 : -1);
    unsigned char buf[4096];
    if (ret == 0) ret = mbedtls_x509write_crt_pem(&crt, buf, sizeof(buf), mbedtls_ctr_drbg_random, &drbg);
    mbedtls_mpi_free(&sn);
    mbedtls_x509write_crt_free(&crt);
    if (ret != 0) throw std::runtime_error("certificate for " + subject);
    return reinterpret_cast<char*>(buf);
  }
};

TestPki::TestPki(const std::string& ca_name) : impl_(std::make_unique<Impl>()) {
  impl_->ca_name = ca_name;
  impl_->NewKey(&impl_->ca_key);
  ca_.key_pem = impl_->KeyPem(&impl_->ca_key);
  ca_.cert_pem = impl_->Certificate(&impl_->ca_key, ca_name, 1, true, "20240101000000", "20491231235959");
}

TestPki::~TestPki() = default;

Credential TestPki::Issue(const std::string& common_name, const char* not_before, const char* not_after) {
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  impl_->NewKey(&key);
  Credential c{impl_->Certificate(&key, common_name, next_serial_++, false, not_before, not_after),
               impl_->KeyPem(&key)};
  mbedtls_pk_free(&key);
  return c;
}

}  // namespace sbc::testing
