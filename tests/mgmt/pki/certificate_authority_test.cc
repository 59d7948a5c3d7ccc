#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mbedtls/x509_crt.h>

#include "sbc/mgmt/pki/certificate_authority.h"

namespace sbc::mgmt::pki {
namespace {

// Verifies `leaf` against `ca` with mbedTLS; returns the verification flags (0: valid).
uint32_t VerifyFlags(const std::string& ca, const std::string& leaf) {
  mbedtls_x509_crt ca_crt, leaf_crt;
  mbedtls_x509_crt_init(&ca_crt);
  mbedtls_x509_crt_init(&leaf_crt);
  uint32_t flags = 0xffffffff;
  if (mbedtls_x509_crt_parse(&ca_crt, reinterpret_cast<const unsigned char*>(ca.c_str()),
                             ca.size() + 1) == 0 &&
      mbedtls_x509_crt_parse(&leaf_crt, reinterpret_cast<const unsigned char*>(leaf.c_str()),
                             leaf.size() + 1) == 0)
    mbedtls_x509_crt_verify(&leaf_crt, &ca_crt, nullptr, nullptr, &flags, nullptr, nullptr);
  mbedtls_x509_crt_free(&leaf_crt);
  mbedtls_x509_crt_free(&ca_crt);
  return flags;
}

TEST(CertificateAuthorityTest, IssuedCertificatesChainToTheCa) {
  auto ca = CertificateAuthority::Create("Test CA");
  ASSERT_TRUE(ca.has_value()) << ca.error();
  auto leaf = (*ca)->Issue("otto-operator", Purpose::kClient);
  ASSERT_TRUE(leaf.has_value()) << leaf.error();
  EXPECT_EQ(VerifyFlags((*ca)->credential().cert_pem, leaf->cert_pem), 0u);
  auto other = CertificateAuthority::Create("Other CA");
  EXPECT_NE(VerifyFlags((*other)->credential().cert_pem, leaf->cert_pem), 0u);
}

TEST(CertificateAuthorityTest, ALoadedCaKeepsIssuingUnderItsName) {
  auto ca = CertificateAuthority::Create("Test CA");
  ASSERT_TRUE(ca.has_value());
  auto loaded = CertificateAuthority::Load((*ca)->credential());
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  auto leaf = (*loaded)->Issue("sam-secadmin", Purpose::kClient);
  ASSERT_TRUE(leaf.has_value());
  EXPECT_EQ(VerifyFlags((*ca)->credential().cert_pem, leaf->cert_pem), 0u);
  EXPECT_FALSE(CertificateAuthority::Load({"garbage", "garbage"}).has_value());
}

TEST(CertificateAuthorityTest, SignsARequestOnlyForTheNamedUserAndOnlyIfItVerifies) {
  auto ca = CertificateAuthority::Create("Test CA");
  ASSERT_TRUE(ca.has_value());
  auto request = CreateRequest("nina");
  ASSERT_TRUE(request.has_value()) << request.error();
  auto cert = (*ca)->SignRequest(request->cert_pem, "nina");
  ASSERT_TRUE(cert.has_value()) << cert.error();
  EXPECT_EQ(VerifyFlags((*ca)->credential().cert_pem, *cert), 0u);

  EXPECT_THAT((*ca)->SignRequest(request->cert_pem, "sam").error(),
              ::testing::HasSubstr("the request is for \"nina\", not \"sam\""));
  // Change one character inside the signed part: the signature no longer verifies.
  std::string tampered = request->cert_pem;
  const size_t body = tampered.find('\n') + 40;
  tampered[body] = tampered[body] == 'A' ? 'B' : 'A';
  EXPECT_FALSE((*ca)->SignRequest(tampered, "nina").has_value());
  EXPECT_FALSE((*ca)->SignRequest("garbage", "nina").has_value());
}

}  // namespace
}  // namespace sbc::mgmt::pki
