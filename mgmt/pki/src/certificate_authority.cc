#include "sbc/mgmt/pki/certificate_authority.h"

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <mbedtls/x509_csr.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <random>

#include "sbc/mgmt/base/drbg.h"
#include "sbc/mgmt/base/mbedtls_error.h"

namespace sbc::mgmt::pki {
namespace {

// The DER value of an extendedKeyUsage extension naming one purpose (RFC 5280
// 4.2.1.12): SEQUENCE { OBJECT IDENTIFIER id-kp-serverAuth or id-kp-clientAuth }.
// mbedTLS 2.28 parses this extension but has no writer for it.
std::string ExtendedKeyUsage(Purpose purpose) {
  const std::string oid =
      purpose == Purpose::kServer
          ? std::string(MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH))
          : std::string(MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH));
  std::string der = {0x30, static_cast<char>(2 + oid.size()), 0x06, static_cast<char>(oid.size())};
  return der + oid;
}

std::string Hex(const unsigned char* bytes, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < n; ++i) {
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 15];
  }
  return hex;
}

}  // namespace

struct CertificateAuthority::Impl {
  base::Drbg drbg{"sbc-management-ca"};  // first: freed after the key and certificate
  mbedtls_pk_context key;
  mbedtls_x509_crt cert;
  std::string name;
  uint64_t next_serial = 0;

  Impl() {
    mbedtls_pk_init(&key);
    mbedtls_x509_crt_init(&cert);
    // Serials grow with time (milliseconds since 1970, times 256, then one by one), so a
    // later certificate has the larger serial whichever CA object issued it, and two
    // never share one but for a clock set back.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    next_serial = static_cast<uint64_t>(ms) << 8 | (std::random_device{}() & 0xff);
  }
  ~Impl() {
    mbedtls_x509_crt_free(&cert);
    mbedtls_pk_free(&key);
  }
  int NewKey(mbedtls_pk_context* k) {
    int ret = mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
      ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k), base::Drbg::Draw,
                                drbg.context());
    return ret;
  }
  std::expected<std::string, std::string> KeyPem(mbedtls_pk_context* k) {
    unsigned char buf[2048];
    if (int ret = mbedtls_pk_write_key_pem(k, buf, sizeof(buf)); ret != 0)
      return std::unexpected(base::MbedtlsError(ret));
    return std::string(reinterpret_cast<char*>(buf));
  }
  std::string Validity(int days, bool end) {
    const std::time_t t =
        std::time(nullptr) + (end ? days * 86400L : -300L);  // 5 min of clock skew
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[16];
    std::strftime(text, sizeof(text), "%Y%m%d%H%M%S", &tm);
    return text;
  }
  // A certificate for `subject`'s key: the CA's own (is_ca), or for `purpose`.
  std::expected<std::string, std::string> Sign(mbedtls_pk_context* subject_key,
                                               const std::string& subject, bool is_ca,
                                               Purpose purpose, const char* not_before,
                                               const char* not_after) {
    mbedtls_x509write_cert crt;
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);
    int ret = mbedtls_mpi_lset(&serial, static_cast<mbedtls_mpi_sint>(next_serial++));
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, subject_key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    if (ret == 0) ret = mbedtls_x509write_crt_set_subject_name(&crt, ("CN=" + subject).c_str());
    if (ret == 0) ret = mbedtls_x509write_crt_set_issuer_name(&crt, ("CN=" + name).c_str());
    if (ret == 0) ret = mbedtls_x509write_crt_set_serial(&crt, &serial);
    if (ret == 0) ret = mbedtls_x509write_crt_set_validity(&crt, not_before, not_after);
    if (ret == 0)
      ret = mbedtls_x509write_crt_set_basic_constraints(&crt, is_ca ? 1 : 0, is_ca ? 0 : -1);
    if (ret == 0)
      ret = mbedtls_x509write_crt_set_key_usage(
          &crt, is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                      : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    if (ret == 0 && !is_ca) {
      const std::string eku = ExtendedKeyUsage(purpose);
      ret = mbedtls_x509write_crt_set_extension(
          &crt, MBEDTLS_OID_EXTENDED_KEY_USAGE, MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
          reinterpret_cast<const unsigned char*>(eku.data()), eku.size());
    }
    unsigned char buf[4096];
    if (ret == 0)
      ret = mbedtls_x509write_crt_pem(&crt, buf, sizeof(buf), base::Drbg::Draw, drbg.context());
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    if (ret != 0)
      return std::unexpected("certificate for " + subject + ": " + base::MbedtlsError(ret));
    return std::string(reinterpret_cast<char*>(buf));
  }
};

CertificateAuthority::CertificateAuthority() : impl_(std::make_unique<Impl>()) {}
CertificateAuthority::~CertificateAuthority() = default;

std::expected<std::unique_ptr<CertificateAuthority>, std::string> CertificateAuthority::Create(
    const std::string& name) {
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  Impl& i = *ca->impl_;
  i.name = name;
  if (int ret = i.drbg.seed_result(); ret != 0)
    return std::unexpected("CA: random generator: " + base::MbedtlsError(ret));
  if (int ret = i.NewKey(&i.key); ret != 0)
    return std::unexpected("CA: key: " + base::MbedtlsError(ret));
  auto key = i.KeyPem(&i.key);
  auto cert = key ? i.Sign(&i.key, name, true, Purpose::kClient, "20240101000000", "20491231235959")
                  : std::unexpected(key.error());
  if (!cert) return std::unexpected("CA: " + cert.error());
  ca->ca_ = {*cert, *key};
  return ca;
}

std::expected<std::unique_ptr<CertificateAuthority>, std::string> CertificateAuthority::Load(
    const Credential& c) {
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority());
  Impl& i = *ca->impl_;
  if (int ret = i.drbg.seed_result(); ret != 0)
    return std::unexpected("CA: random generator: " + base::MbedtlsError(ret));
  if (int ret = mbedtls_x509_crt_parse(&i.cert,
                                       reinterpret_cast<const unsigned char*>(c.cert_pem.c_str()),
                                       c.cert_pem.size() + 1);
      ret != 0)
    return std::unexpected("CA certificate: " + base::MbedtlsError(ret));
  if (int ret =
          mbedtls_pk_parse_key(&i.key, reinterpret_cast<const unsigned char*>(c.key_pem.c_str()),
                               c.key_pem.size() + 1, nullptr, 0);
      ret != 0)
    return std::unexpected("CA key: " + base::MbedtlsError(ret));
  char subject[256];
  mbedtls_x509_dn_gets(subject, sizeof(subject), &i.cert.subject);
  i.name = std::string(subject).starts_with("CN=") ? std::string(subject).substr(3) : subject;
  ca->ca_ = c;
  return ca;
}

std::expected<std::string, std::string> CertificateAuthority::SignRequest(
    const std::string& csr_pem, const std::string& required_cn, int days) {
  mbedtls_x509_csr csr;
  mbedtls_x509_csr_init(&csr);
  std::expected<std::string, std::string> result =
      std::unexpected(std::string("not a certificate signing request"));
  if (mbedtls_x509_csr_parse(&csr, reinterpret_cast<const unsigned char*>(csr_pem.c_str()),
                             csr_pem.size() + 1) == 0) {
    std::string cn;
    for (const mbedtls_x509_name* n = &csr.subject; n != nullptr; n = n->next)
      if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
        cn.assign(reinterpret_cast<const char*>(n->val.p), n->val.len);
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    const mbedtls_md_info_t* md = mbedtls_md_info_from_type(csr.sig_md);
    const bool ec = mbedtls_pk_can_do(&csr.pk, MBEDTLS_PK_ECDSA) &&
                    (mbedtls_pk_ec(csr.pk)->grp.id == MBEDTLS_ECP_DP_SECP256R1 ||
                     mbedtls_pk_ec(csr.pk)->grp.id == MBEDTLS_ECP_DP_SECP384R1);
    const bool signed_by_holder =
        md != nullptr && mbedtls_md(md, csr.cri.p, csr.cri.len, hash) == 0 &&
        mbedtls_pk_verify_ext(csr.sig_pk, csr.sig_opts, &csr.pk, csr.sig_md, hash,
                              mbedtls_md_get_size(md), csr.sig.p, csr.sig.len) == 0;
    if (!signed_by_holder)
      result = std::unexpected(std::string("the request's signature does not verify"));
    else if (!ec)
      result = std::unexpected(std::string("the request's key is not ECDSA P-256 or P-384"));
    else if (cn != required_cn)
      result = std::unexpected("the request is for \"" + cn + "\", not \"" + required_cn + "\"");
    else
      result =
          impl_->Sign(&csr.pk, cn, false, Purpose::kClient, impl_->Validity(days, false).c_str(),
                      impl_->Validity(days, true).c_str());
  }
  mbedtls_x509_csr_free(&csr);
  return result;
}

std::expected<Credential, std::string> CreateRequest(const std::string& common_name) {
  base::Drbg drbg("sbc-certificate-request");
  mbedtls_pk_context key;
  mbedtls_x509write_csr csr;
  mbedtls_pk_init(&key);
  mbedtls_x509write_csr_init(&csr);
  std::expected<Credential, std::string> result =
      std::unexpected(std::string("cannot create the request"));
  unsigned char key_pem[2048], csr_pem[4096];
  int ret = drbg.seed_result();
  if (ret == 0) ret = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0)
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), base::Drbg::Draw,
                              drbg.context());
  mbedtls_x509write_csr_set_key(&csr, &key);
  mbedtls_x509write_csr_set_md_alg(&csr, MBEDTLS_MD_SHA256);
  if (ret == 0) ret = mbedtls_x509write_csr_set_subject_name(&csr, ("CN=" + common_name).c_str());
  if (ret == 0)
    ret =
        mbedtls_x509write_csr_pem(&csr, csr_pem, sizeof(csr_pem), base::Drbg::Draw, drbg.context());
  if (ret == 0) ret = mbedtls_pk_write_key_pem(&key, key_pem, sizeof(key_pem));
  if (ret == 0)
    result = Credential{reinterpret_cast<char*>(csr_pem), reinterpret_cast<char*>(key_pem)};
  else
    result = std::unexpected("cannot create the request: " + base::MbedtlsError(ret));
  mbedtls_platform_zeroize(key_pem, sizeof(key_pem));
  mbedtls_x509write_csr_free(&csr);
  mbedtls_pk_free(&key);
  return result;
}

std::expected<Credential, std::string> CertificateAuthority::Issue(const std::string& common_name,
                                                                   Purpose purpose,
                                                                   const char* not_before,
                                                                   const char* not_after) {
  mbedtls_pk_context key;
  mbedtls_pk_init(&key);
  std::expected<Credential, std::string> result =
      std::unexpected(std::string("key generation failed"));
  if (impl_->NewKey(&key) == 0) {
    auto cert = impl_->Sign(&key, common_name, false, purpose, not_before, not_after);
    auto pem = impl_->KeyPem(&key);
    if (cert && pem)
      result = Credential{*cert, *pem};
    else
      result = std::unexpected(cert ? pem.error() : cert.error());
  }
  mbedtls_pk_free(&key);
  return result;
}

std::string KeyId(const mbedtls_x509_crt& cert) {
  unsigned char der[512];
  // mbedtls_pk_write_pubkey_der writes at the end of the buffer.
  const int len =
      mbedtls_pk_write_pubkey_der(const_cast<mbedtls_pk_context*>(&cert.pk), der, sizeof(der));
  unsigned char digest[32];
  if (len <= 0 ||
      mbedtls_sha256_ret(der + sizeof(der) - len, static_cast<size_t>(len), digest, 0) != 0)
    return "";
  return "sha256:" + Hex(digest, sizeof(digest));
}

std::expected<std::string, std::string> KeyId(const std::string& cert_pem) {
  mbedtls_x509_crt cert;
  mbedtls_x509_crt_init(&cert);
  std::expected<std::string, std::string> result =
      std::unexpected(std::string("not a PEM certificate"));
  if (mbedtls_x509_crt_parse(&cert, reinterpret_cast<const unsigned char*>(cert_pem.c_str()),
                             cert_pem.size() + 1) == 0)
    if (std::string id = KeyId(cert); !id.empty()) result = id;
  mbedtls_x509_crt_free(&cert);
  return result;
}

std::expected<std::string, std::string> KeyFingerprint(const std::string& cert_pem) {
  auto id = KeyId(cert_pem);
  if (!id) return std::unexpected(id.error());
  return id->substr(0, 7 + 16);  // "sha256:" and 8 bytes
}

bool CertifiedFor(const mbedtls_x509_crt& cert, Purpose purpose) {
  // Without the extension mbedTLS would accept any use: ours always carry it.
  if (!(cert.ext_types & MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE)) return false;
  return purpose == Purpose::kServer
             ? mbedtls_x509_crt_check_extended_key_usage(
                   &cert, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) == 0
             : mbedtls_x509_crt_check_extended_key_usage(
                   &cert, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) == 0;
}

bool KeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem) {
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_x509_crt_init(&cert);
  mbedtls_pk_init(&key);
  const bool match =
      mbedtls_x509_crt_parse(&cert, reinterpret_cast<const unsigned char*>(cert_pem.c_str()),
                             cert_pem.size() + 1) == 0 &&
      mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(key_pem.c_str()),
                           key_pem.size() + 1, nullptr, 0) == 0 &&
      mbedtls_pk_check_pair(&cert.pk, &key) == 0;
  mbedtls_pk_free(&key);
  mbedtls_x509_crt_free(&cert);
  return match;
}

}  // namespace sbc::mgmt::pki
