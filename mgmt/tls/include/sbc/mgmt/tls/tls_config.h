// The one place TLS parameters are chosen (server side; test clients reuse the lists).
#pragma once

#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

namespace sbc::mgmt::tls {

// The name in sbc-mgmtd's server certificate, which clients verify: the CA is the
// appliance's own, so this name, not a DNS name, identifies the daemon.
inline constexpr char kServerName[] = "sbc-mgmtd";

// ECDHE-ECDSA with AES-GCM, zero-terminated, strongest first.
extern const int kCipherSuites[];
extern const mbedtls_ecp_group_id kCurves[];  // P-384, P-256; MBEDTLS_ECP_DP_NONE-terminated
extern const int kSignatureHashes[];          // SHA-384, SHA-256; MBEDTLS_MD_NONE-terminated
// Certificates: SHA-256+ signatures, ECDSA keys on P-256/P-384 only.
extern const mbedtls_x509_crt_profile kCertProfile;

// Applies every setting above to a server or client config: TLS 1.2 only, the suites,
// curves, hashes, certificate profile, renegotiation off. Returns mbedTLS's error.
int ApplyStrictSettings(mbedtls_ssl_config* conf, int endpoint);

}  // namespace sbc::mgmt::tls
