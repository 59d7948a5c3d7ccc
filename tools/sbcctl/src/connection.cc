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
  request.set_rpc(schema::CONSOLE_LOGIN);
  request.set_user_name(user);
  request.set_password(password);
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

}  // namespace sbc::tools
