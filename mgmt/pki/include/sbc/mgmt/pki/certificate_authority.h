// The management CA: an ECDSA P-256 key and self-signed certificate that issue the
// appliance's TLS server certificate and operators' client certificates (the CN is the
// user name). mbedTLS does the key generation, X.509 writing and signing.
//
// Every certificate says what it is for (extended key usage: TLS server or TLS
// client; both ends require it), so an operator's certificate can never serve as the
// appliance's or the other way round. Serial numbers grow with time, across CA objects
// and restarts: a client can refuse a server certificate older than one it has seen.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include <mbedtls/x509_crt.h>

namespace sbc::mgmt::pki {

struct Credential {
  std::string cert_pem;
  std::string key_pem;
};

enum class Purpose { kClient, kServer };

class CertificateAuthority {
 public:
  // A new CA named `name`, valid 2024..2049.
  [[nodiscard]] static std::expected<std::unique_ptr<CertificateAuthority>, std::string> Create(
      const std::string& name);
  // A CA from its PEM certificate and key (the key store's files).
  [[nodiscard]] static std::expected<std::unique_ptr<CertificateAuthority>, std::string> Load(
      const Credential& ca);
  ~CertificateAuthority();

  const Credential& credential() const { return ca_; }

  // Signs a certificate signing request for a TLS client: its own signature must
  // verify (the requester holds the key), its key must be ECDSA P-256/P-384, and its
  // subject CN must equal `required_cn`. Valid from now for `days` days. Returns the
  // PEM certificate.
  [[nodiscard]] std::expected<std::string, std::string> SignRequest(const std::string& csr_pem,
                                                                    const std::string& required_cn,
                                                                    int days = 365);
  // A new key and a certificate for `common_name`, for `purpose`, signed by this CA,
  // valid between the two times (YYYYMMDDhhmmss, UTC).
  [[nodiscard]] std::expected<Credential, std::string> Issue(
      const std::string& common_name, Purpose purpose, const char* not_before = "20240101000000",
      const char* not_after = "20491231235959");

 private:
  struct Impl;
  CertificateAuthority();
  std::unique_ptr<Impl> impl_;
  Credential ca_;
};

// The requester's side: a new P-256 key and a CSR for `common_name`; the result's
// cert_pem holds the CSR (PEM), key_pem the new private key.
[[nodiscard]] std::expected<Credential, std::string> CreateRequest(const std::string& common_name);

// "sha256:" and the first 8 bytes, in hex, of the SHA-256 of the certificate's public
// key (DER): names a key in audit entries without revealing anything secret.
[[nodiscard]] std::expected<std::string, std::string> KeyFingerprint(const std::string& cert_pem);

// The whole of it ("sha256:" and 64 hex digits): what a user is bound to.
[[nodiscard]] std::expected<std::string, std::string> KeyId(const std::string& cert_pem);
[[nodiscard]] std::string KeyId(const mbedtls_x509_crt& cert);

// Whether `cert` says it is for `purpose` (its extended key usage lists it).
[[nodiscard]] bool CertifiedFor(const mbedtls_x509_crt& cert, Purpose purpose);

// The private key `key_pem` belongs to the certificate `cert_pem`.
[[nodiscard]] bool KeyMatchesCertificate(const std::string& cert_pem, const std::string& key_pem);

}  // namespace sbc::mgmt::pki
