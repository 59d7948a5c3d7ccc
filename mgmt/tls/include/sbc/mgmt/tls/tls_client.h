// The operator side of the control API (sbcctl): the same strict TLS settings as the
// server, the operator's certificate, the management CA to verify the appliance.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

namespace sbc::mgmt::tls {

enum class ClientError { kUnreachable, kHandshake, kConnection };

struct ClientFailure {
  ClientError kind;
  std::string message;  // one line
};

class TlsClient {
 public:
  // Connects and completes the handshake; the server's certificate must chain to
  // `ca_pem`, name kServerName and be certified for a TLS server. With
  // `server_serial_file`, the highest server certificate serial seen from this CA is
  // kept there, and a certificate with a lower one is refused: once a client has met
  // the appliance's rotated key (sbcctl keys rotate), the old key cannot pose as it.
  [[nodiscard]] static std::expected<std::unique_ptr<TlsClient>, ClientFailure> Connect(
      const std::string& host, uint16_t port, const std::string& ca_pem,
      const std::string& cert_pem, const std::string& key_pem,
      const std::string& server_serial_file = "");
  ~TlsClient();
  // One request frame out, one response frame back.
  [[nodiscard]] std::expected<std::string, ClientFailure> Call(const std::string& request);

 private:
  struct Impl;
  TlsClient();
  std::unique_ptr<Impl> impl_;
};

}  // namespace sbc::mgmt::tls
