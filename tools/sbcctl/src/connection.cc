#include "connection.h"

#include <unistd.h>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"
#include "sbc/mgmt/tls/tls_client.h"

namespace sbc::tools {
namespace {

using namespace std::chrono_literals;

class TlsConnection final : public Connection {
 public:
  explicit TlsConnection(std::unique_ptr<mgmt::tls::TlsClient> client)
      : client_(std::move(client)) {}
  std::expected<schema::Response, Failure> Call(const schema::Request& request) override {
    auto reply = client_->Call(request.SerializeAsString());
    // TLS 1.2 lets the server refuse our certificate after our side of the handshake.
    if (!reply)
      return std::unexpected(
          Failure{kExitDenied, "the appliance closed the connection: " + reply.error().message});
    schema::Response response;
    if (!response.ParseFromString(*reply))
      return std::unexpected(Failure{kExitRefused, "the appliance answered garbage"});
    return response;
  }

 private:
  std::unique_ptr<mgmt::tls::TlsClient> client_;
};

class ConsoleConnection final : public Connection {
 public:
  explicit ConsoleConnection(int fd) : fd_(fd), transport_(fd) {}
  ~ConsoleConnection() override { close(fd_); }
  std::expected<schema::Response, Failure> Call(const schema::Request& request) override {
    if (!mgmt::control::WriteFrame(transport_, request.SerializeAsString()))
      return std::unexpected(Failure{kExitUnreachable, "the console socket closed"});
    auto reply = mgmt::control::ReadFrame(transport_, 120s);
    if (!reply)
      return std::unexpected(
          Failure{kExitUnreachable, std::string("the console session ended: ") +
                                        mgmt::control::FrameErrorText(reply.error())});
    schema::Response response;
    if (!response.ParseFromString(*reply))
      return std::unexpected(Failure{kExitRefused, "the appliance answered garbage"});
    return response;
  }

 private:
  int fd_;
  mgmt::control::FdTransport transport_;
};

}  // namespace

std::expected<std::unique_ptr<Connection>, Failure> ConnectTls(
    const std::string& host, uint16_t port, const std::string& ca_pem, const std::string& cert_pem,
    const std::string& key_pem, const std::string& server_serial_file) {
  auto client =
      mgmt::tls::TlsClient::Connect(host, port, ca_pem, cert_pem, key_pem, server_serial_file);
  if (!client)
    return std::unexpected(Failure{client.error().kind == mgmt::tls::ClientError::kUnreachable
                                       ? kExitUnreachable
                                       : kExitDenied,
                                   client.error().message});
  return std::make_unique<TlsConnection>(std::move(*client));
}

std::expected<std::unique_ptr<Connection>, Failure> ConnectConsole(const std::string& socket_path,
                                                                   const std::string& user,
                                                                   const std::string& password,
                                                                   schema::Response* login) {
  auto fd = mgmt::control::ConnectUnix(socket_path);
  if (!fd) return std::unexpected(Failure{kExitUnreachable, "console: " + fd.error()});
  auto connection = std::make_unique<ConsoleConnection>(*fd);
  schema::Request request;
  request.mutable_console_login()->set_name(user);
  request.mutable_console_login()->set_password(password);
  auto reply = connection->Call(request);
  if (!reply) {
    // The server closes before answering a peer it does not serve.
    return std::unexpected(
        Failure{kExitDenied, "console: not served (" + reply.error().message + ")"});
  }
  *login = *reply;
  if (reply->outcome() != schema::OK)
    return std::unexpected(Failure{reply->outcome() == schema::DENIED ? kExitDenied : kExitRefused,
                                   "console login refused: " + reply->error()});
  return connection;
}

std::expected<Address, std::string> ParseAddress(const std::string& text) {
  std::string host, port;
  if (text.starts_with('[')) {  // [IPV6]:PORT: the brackets keep the address's colons apart
    const size_t close = text.find(']');
    if (close == std::string::npos)
      return std::unexpected("an IPv6 address opened with [ is not closed");
    host = text.substr(1, close - 1);
    if (text.size() <= close + 1 || text[close + 1] != ':')
      return std::unexpected("no port (HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:4443)");
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos)
      return std::unexpected("no port (HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:4443)");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos)
      return std::unexpected("an IPv6 address needs brackets: [IPV6]:PORT");
  }
  if (host.empty()) return std::unexpected("no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
    return std::unexpected("the port \"" + port + "\" is not a number from 1 to 65535");
  const unsigned long number = std::stoul(port);  // digits only, at most 5: cannot throw
  if (number == 0 || number > 65535)
    return std::unexpected("the port " + port + " is not a number from 1 to 65535");
  return Address{.host = host, .port = static_cast<uint16_t>(number)};
}

}  // namespace sbc::tools
