// How sbcctl reaches the control API: mutually authenticated TLS (to a local port,
// perhaps forwarded by ssh -L), or the appliance's console socket after a password
// login (break-glass, on the appliance itself). Either way: one Request frame out,
// one Response frame back.
#pragma once

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

#include "sbc/schema/control.pb.h"

namespace sbc::tools {

// sbcctl's exit codes.
inline constexpr int kExitOk = 0, kExitRefused = 1, kExitUsage = 2, kExitDenied = 3,
                     kExitUnreachable = 4;

struct Failure {
  int exit_code;
  std::string message;
};

class Connection {
 public:
  virtual ~Connection() = default;
  [[nodiscard]] virtual std::expected<schema::Response, Failure> Call(
      const schema::Request& request) = 0;
};

// A --connect address: "HOST:PORT", or "[IPV6]:PORT". The error names what is wrong
// with it (no port, a port that is not a number from 1 to 65535, no host).
struct Address {
  std::string host;
  uint16_t port;
};
[[nodiscard]] std::expected<Address, std::string> ParseAddress(const std::string& text);

// The control API over TLS. `server_serial_file`: where the highest server
// certificate serial seen from this CA is kept (see mgmt::tls::TlsClient::Connect).
[[nodiscard]] std::expected<std::unique_ptr<Connection>, Failure> ConnectTls(
    const std::string& host, uint16_t port, const std::string& ca_pem, const std::string& cert_pem,
    const std::string& key_pem, const std::string& server_serial_file);

// Connects to the console socket and logs in as `user`; `login` receives the login's
// Response (banner, time). A refused login is kExitDenied.
[[nodiscard]] std::expected<std::unique_ptr<Connection>, Failure> ConnectConsole(
    const std::string& socket_path, const std::string& user, const std::string& password,
    schema::Response* login);

}  // namespace sbc::tools
