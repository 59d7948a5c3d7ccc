// An mbedTLS client for tests: connects to 127.0.0.1:port, verifies the server
// against a CA, presents an optional client certificate, and exchanges frames.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/test_pki.h"

namespace sbc::testing {

struct TlsClientOptions {
  std::optional<Credential> credential;
  int min_minor = 3;  // MBEDTLS_SSL_MINOR_VERSION_3: TLS 1.2
  int max_minor = 3;
  std::vector<int> suites;  // empty: mbedTLS's defaults
};

class TlsTestClient {
 public:
  TlsTestClient(uint16_t port, const std::string& ca_pem, const TlsClientOptions& options);
  ~TlsTestClient();
  bool handshake_ok() const { return handshake_ok_; }
  // The certificate the server presented (DER), empty if none.
  const std::string& peer_certificate_der() const { return peer_der_; }
  // Sends one frame and returns the reply frame, or nullopt if the connection failed.
  std::optional<std::string> Call(const std::string& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool handshake_ok_ = false;
  std::string peer_der_;
};

}  // namespace sbc::testing
