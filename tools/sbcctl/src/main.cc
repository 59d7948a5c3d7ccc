// sbcctl: manage the appliance over its control API (mutually authenticated TLS).
//
//   sbcctl --ssh admin@appliance status
//   sbcctl --connect 127.0.0.1:4443 config push site-v7.bundle --confirm-within 300
//   sbcctl --output json audit verify
//   sbcctl --console /var/lib/sbc/run/console.sock --user admin users list   (break-glass)
//
// Credentials: --ca, --cert, --key (or SBCCTL_CA, SBCCTL_CERT, SBCCTL_KEY). On the
// console, a password instead: asked on the terminal, or the first line of stdin.
// Beside the CA file, <ca>.server-serial keeps the newest server certificate serial
// the appliance showed: after a key rotation, the old key is refused.
// Exit codes: 0 done, 1 refused or failed, 2 usage error, 3 denied or not
// authenticated, 4 appliance unreachable.
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>

#include "commands/command.h"
#include "connection.h"
#include "password_input.h"
#include "print.h"
#include "sbc/schema/control.pb.h"
#include "ssh_tunnel.h"

namespace {

using namespace sbc;
using tools::kExitDenied, tools::kExitOk, tools::kExitRefused, tools::kExitUnreachable,
    tools::kExitUsage;

int Fail(int code, const std::string& line) {
  std::cerr << "sbcctl: " << line << std::endl;
  return code;
}
int Fail(const tools::Failure& failure) { return Fail(failure.exit_code, failure.message); }

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"sbcctl: manage the SBC appliance through its control API"};
  app.require_subcommand(1);
  std::string connect = "127.0.0.1:4443", ssh, output = "text", ca, cert, key;
  std::vector<std::string> ssh_options;
  app.add_option("--connect", connect, "control API address (a local port forwarded to it)");
  app.add_option("--ssh", ssh, "user@host: open ssh -L to the appliance for this command");
  app.add_option("--ssh-option", ssh_options, "extra ssh -o option (repeatable)");
  app.add_option("--output", output, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--ca", ca, "the appliance's management CA certificate")->envname("SBCCTL_CA");
  app.add_option("--cert", cert, "your certificate")->envname("SBCCTL_CERT");
  app.add_option("--key", key, "your private key")->envname("SBCCTL_KEY");
  std::string console_socket, console_user;
  app.add_option(
         "--console", console_socket,
         "break-glass: the appliance's console socket, instead of TLS (log in with a password)")
      ->envname("SBCCTL_CONSOLE");
  app.add_option("--user", console_user, "your user name, with --console");

  tools::Command command;
  tools::AddStatusCommands(app, command);
  tools::AddConfigCommands(app, command);
  tools::AddUserCommands(app, command);
  tools::AddClockCommands(app, command);
  tools::AddKeyCommands(app, command);
  tools::AddMediaCommands(app, command);
  tools::AddAuditCommands(app, command);
  tools::AddFirmwareCommands(app, command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }
  if (command.offline) return command.offline();
  schema::Request& request = command.request;
  if (command.prepare)
    if (auto ready = command.prepare(request); !ready) return Fail(ready.error());

  std::unique_ptr<tools::Connection> connection;
  if (!console_socket.empty()) {
    if (console_user.empty()) return Fail(kExitUsage, "--console needs --user");
    auto password = tools::ReadPassword("console password for " + console_user + ": ");
    if (!password) return Fail(kExitUsage, password.error());
    schema::Response login;
    auto connected = tools::ConnectConsole(console_socket, console_user, *password, &login);
    std::fill(password->begin(), password->end(), '\0');
    if (!connected) return Fail(connected.error());
    connection = std::move(*connected);
    if (!login.login_banner().empty() && output == "text")
      std::cerr << login.login_banner() << std::endl;
  }
  // After the login's password, so both can come from stdin in that order.
  if (command.prepare_connected)
    if (auto ready = command.prepare_connected(request); !ready) return Fail(ready.error());

  std::optional<tools::SshTunnel> tunnel;
  if (!connection) {
    const auto address = tools::ParseAddress(connect);
    if (!address) return Fail(kExitUsage, "--connect " + connect + ": " + address.error());
    if (ca.empty() || cert.empty() || key.empty())
      return Fail(kExitUsage,
                  "--ca, --cert and --key (or SBCCTL_CA, SBCCTL_CERT, SBCCTL_KEY) are required");
    const auto ca_pem = tools::ReadWholeFile(ca), cert_pem = tools::ReadWholeFile(cert),
               key_pem = tools::ReadWholeFile(key);
    if (!ca_pem || !cert_pem || !key_pem)
      return Fail(kExitUsage, "cannot read the CA, certificate or key file");

    std::string host = address->host;
    uint16_t port = address->port;
    if (!ssh.empty()) {
      auto opened = tools::SshTunnel::Open(ssh, port, ssh_options);
      if (!opened) return Fail(kExitUnreachable, opened.error());
      tunnel.emplace(std::move(*opened));
      host = "127.0.0.1";
      port = tunnel->local_port();
    }
    // Beside the CA file: the newest server certificate this CA's appliance showed.
    auto connected =
        tools::ConnectTls(host, port, *ca_pem, *cert_pem, *key_pem, ca + ".server-serial");
    if (!connected) return Fail(connected.error());
    connection = std::move(*connected);
  }

  auto reply = command.call ? command.call(*connection, request) : connection->Call(request);
  if (!reply) return Fail(reply.error());
  const schema::Response& response = *reply;

  if (command.save && response.outcome() == schema::OK) {
    if (auto saved = command.save(response); !saved) return Fail(saved.error());
    return kExitOk;
  }
  if (output == "json")
    std::cout << tools::AsJson(response);
  else if (response.outcome() == schema::OK)
    std::cout << tools::AsText(static_cast<schema::Rpc>(request.call_case()), response);
  if (!response.warning().empty())
    std::cerr << "sbcctl: warning: " << response.warning() << std::endl;
  switch (response.outcome()) {
    case schema::OK:
      return command.failed_despite_ok && command.failed_despite_ok(response) ? kExitRefused
                                                                              : kExitOk;
    case schema::DENIED:
      return Fail(kExitDenied, "denied: " + response.error());
    default:
      return Fail(kExitRefused, schema::Outcome_Name(response.outcome()) + ": " + response.error());
  }
} catch (const std::exception& e) {
  // Nothing is meant to throw this far: say what did, rather than abort without a word.
  std::cerr << "sbcctl: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
