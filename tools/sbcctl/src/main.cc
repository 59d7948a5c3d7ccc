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
#include <fcntl.h>
#include <sysexits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <tuple>

#include "connection.h"
#include "media_legs.h"
#include "password_input.h"
#include "print.h"
#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/pki/certificate_authority.h"
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

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

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

  schema::Request request;
  app.add_subcommand("status", "running config version and pending confirmation")->callback([&] {
    (void)request.mutable_status();
  });
  auto* config = app.add_subcommand("config", "signed configuration")->require_subcommand(1);
  std::string bundle_file, downgrade_file;
  uint32_t confirm_within = 0;
  auto* push = config->add_subcommand("push", "push a signed bundle");
  push->add_option("bundle", bundle_file, "signed bundle (sbc-sign)")->required();
  push->add_option("--confirm-within", confirm_within,
                   "revert unless confirmed within this many seconds");
  push->add_option("--downgrade", downgrade_file,
                   "signed downgrade authorisation (to push an older version)");
  push->callback([&] { (void)request.mutable_config_push(); });
  config->add_subcommand("confirm", "keep a push made with --confirm-within")->callback([&] {
    (void)request.mutable_config_confirm();
  });
  uint64_t version = 0, other = 0;
  auto* rollback =
      config->add_subcommand("rollback", "run a stored, already-accepted version again");
  rollback->add_option("version", version)->required();
  rollback->callback([&] { (void)request.mutable_config_rollback(); });
  auto* diff = config->add_subcommand("diff", "unified diff between two stored versions");
  diff->add_option("from", version)->required();
  diff->add_option("to", other)->required();
  diff->callback([&] { (void)request.mutable_config_diff(); });
  config->add_subcommand("history", "stored versions")->callback([&] {
    (void)request.mutable_config_history();
  });
  config->add_subcommand("show", "the running configuration")->callback([&] {
    (void)request.mutable_config_show();
  });
  app.add_subcommand("counters", "ports, drops by reason, rules")->callback([&] {
    (void)request.mutable_counters();
  });
  auto* users = app.add_subcommand("users", "who may use the control API")->require_subcommand(1);
  std::string user_name;
  std::vector<std::string> role_names;
  users->add_subcommand("list", "users and their roles")->callback([&] {
    (void)request.mutable_user_list();
  });
  for (auto [name, rpc, help] :
       {std::tuple{"add", schema::USER_ADD, "add a user (their certificate CN)"},
        std::tuple{"set-roles", schema::USER_SET_ROLES, "replace a user's roles"},
        std::tuple{"remove", schema::USER_REMOVE, "remove a user"}}) {
    auto* cmd = users->add_subcommand(name, help);
    cmd->add_option("name", user_name)->required();
    if (rpc != schema::USER_REMOVE)
      cmd->add_option("--role", role_names,
                      "viewer, operator, signaling, auditor, security-admin (repeatable)")
          ->required();
    cmd->callback([&request, rpc] {
      if (rpc == schema::USER_ADD) (void)request.mutable_user_add();
      if (rpc == schema::USER_SET_ROLES) (void)request.mutable_user_set_roles();
      if (rpc == schema::USER_REMOVE) (void)request.mutable_user_remove();
    });
  }
  users
      ->add_subcommand("set-password",
                       "set a user's console break-glass password (asked, never an argument)")
      ->callback([&] { (void)request.mutable_user_set_password(); })
      ->add_option("name", user_name)
      ->required();
  // A new operator makes a key and a request locally; a security-admin approves it.
  std::string request_name, request_dir = ".", csr_file, cert_out, request_name_for_key;
  auto* request_cert =
      users->add_subcommand("request-cert", "make a key and certificate request (offline)");
  request_cert->add_option("name", request_name, "your user name")->required();
  request_cert->add_option("--dir", request_dir, "where to write NAME.key (0600) and NAME.csr");
  auto* approve =
      users->add_subcommand("approve-cert", "have the appliance's CA sign a user's request");
  approve->add_option("name", user_name)->required();
  approve->add_option("--csr", csr_file, "the user's NAME.csr")->required();
  approve->add_option("--out", cert_out, "where to write the certificate")->required();
  approve->callback([&] { (void)request.mutable_cert_approve(); });
  auto* clock = app.add_subcommand("clock", "the appliance's clock")->require_subcommand(1);
  std::string clock_text;
  auto* clock_set =
      clock->add_subcommand("set", "set the appliance's time (audited with old and new time)");
  clock_set->add_option("time", clock_text, "UTC, e.g. 2026-11-28T20:15:00Z")->required();
  clock_set->callback([&] { (void)request.mutable_clock_set(); });
  auto* keys = app.add_subcommand("keys", "the appliance's own keys")->require_subcommand(1);
  auto* rotate =
      keys->add_subcommand("rotate", "replace a key (mgmtd-tls: the control API's server key)");
  rotate->add_option("name", request_name_for_key, "which key")->required();
  rotate->callback([&] { (void)request.mutable_key_rotate(); });
  auto* media =
      app.add_subcommand("media", "media sessions (signaling role)")->require_subcommand(1);
  std::vector<std::string> leg_specs;
  uint64_t media_id = 0;
  auto* media_create = media->add_subcommand("create", "anchor a call's media: two legs");
  media_create
      ->add_option(
          "--leg", leg_specs,
          "interface=wan0[,remote=203.0.113.5:4000][,local=SERVICE_ADDRESS]"
          "[,suite=AES_CM_128_HMAC_SHA1_80,keyfile=PATH|key=-|key=BASE64][,mux][,clock=8000] "
          "(twice: one per party; key=- reads the key from stdin)")
      ->required()
      ->expected(2);
  media_create->add_option("--id", media_id, "session id (default: the appliance picks one)");
  media_create->callback([&] { (void)request.mutable_media_session_create(); });
  std::vector<std::string> update_leg_specs;
  uint64_t update_id = 0;
  auto* media_update = media->add_subcommand(
      "update",
      "a live session as a re-offer has it (the same keys again keep their streams going)");
  media_update->add_option("id", update_id)->required();
  media_update
      ->add_option(
          "--leg", update_leg_specs,
          "[remote=203.0.113.5:4000][,suite=AES_CM_128_HMAC_SHA1_80[,keyfile=PATH|key=-|key=BASE64]"
          "[,newkey]][,mux]"
          "[,clock=8000] (twice: one per party, in the order created)")
      ->required()
      ->expected(2);
  media_update->callback([&] { (void)request.mutable_media_session_update(); });
  std::vector<uint64_t> media_ids;
  auto* media_delete = media->add_subcommand("delete", "end media sessions");
  media_delete->add_option("id", media_ids)->required();
  media_delete->callback([&] { (void)request.mutable_media_session_delete(); });
  media->add_subcommand("list", "sessions with their counters, and those recently ended")
      ->callback([&] { (void)request.mutable_media_session_list(); });
  auto* audit = app.add_subcommand("audit", "the audit log")->require_subcommand(1);
  uint64_t audit_from = 1, audit_limit = 0;
  auto* audit_show =
      audit->add_subcommand("show", "the entries, oldest first (read a page at a time)");
  audit_show->add_option("--from", audit_from, "the first entry's sequence number");
  audit_show->add_option("--limit", audit_limit, "at most this many entries (0: to the end)");
  audit_show->callback([&] { (void)request.mutable_audit_read(); });
  audit->add_subcommand("verify", "check the hash chain")->callback([&] {
    (void)request.mutable_audit_verify();
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*request_cert) {
    auto made = mgmt::pki::CreateRequest(request_name);
    if (!made) return Fail(kExitRefused, made.error());
    const std::string key_path = request_dir + "/" + request_name + ".key";
    const int fd = open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 ||
        write(fd, made->key_pem.data(), made->key_pem.size()) != ssize_t(made->key_pem.size()))
      return Fail(kExitUsage, key_path + ": cannot create (exists?)");
    close(fd);
    std::ofstream(request_dir + "/" + request_name + ".csr") << made->cert_pem;
    std::cout << "wrote " << key_path << " and " << request_dir << "/" << request_name
              << ".csr; send the .csr to a security-admin" << std::endl;
    return kExitOk;
  }
  if (request.has_cert_approve()) {
    auto csr = ReadFile(csr_file);
    if (!csr) return Fail(kExitUsage, csr_file + ": cannot be read");
    request.mutable_cert_approve()->set_name(user_name);
    request.mutable_cert_approve()->set_csr_pem(*csr);
  }
  if (request.has_config_push()) {
    auto bytes = ReadFile(bundle_file);
    if (!bytes) return Fail(kExitUsage, bundle_file + ": cannot be read");
    schema::ConfigPush* push_args = request.mutable_config_push();
    push_args->set_bundle(*bytes);
    push_args->set_confirm_within_s(confirm_within);
    if (!downgrade_file.empty()) {
      auto auth = ReadFile(downgrade_file);
      if (!auth) return Fail(kExitUsage, downgrade_file + ": cannot be read");
      push_args->set_downgrade_authorization(*auth);
    }
  }
  if (request.has_config_rollback()) request.mutable_config_rollback()->set_version(version);
  if (request.has_config_diff()) {
    request.mutable_config_diff()->set_from_version(version);
    request.mutable_config_diff()->set_to_version(other);
  }
  if (request.has_user_remove()) request.mutable_user_remove()->set_name(user_name);
  if (request.has_user_set_password()) request.mutable_user_set_password()->set_name(user_name);
  if (request.has_user_add() || request.has_user_set_roles()) {
    schema::UserRoles* user_roles =
        request.has_user_add() ? request.mutable_user_add() : request.mutable_user_set_roles();
    user_roles->set_name(user_name);
    for (std::string role : role_names) {
      for (char& c : role)
        c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      schema::Role parsed;
      if (!schema::Role_Parse(role, &parsed) || parsed == schema::ROLE_UNSPECIFIED)
        return Fail(kExitUsage, "unknown role \"" + role + "\"");
      user_roles->add_roles(parsed);
    }
  }

  if (request.has_clock_set()) {
    auto when = mgmt::clock::ParseUtc(clock_text);
    if (!when) return Fail(kExitUsage, when.error());
    request.mutable_clock_set()->set_unix_ms(*when);
  }
  if (request.has_key_rotate()) request.mutable_key_rotate()->set_key_name(request_name_for_key);
  if (request.has_media_session_create()) {
    schema::MediaSession* session = request.mutable_media_session_create()->add_sessions();
    session->set_id(media_id);
    for (const std::string& text : leg_specs) {
      auto leg = tools::ParseLeg(text);
      if (!leg) return Fail(kExitUsage, "--leg " + text + ": " + leg.error());
      *session->add_legs() = *leg;
    }
  }
  if (request.has_media_session_update()) {
    schema::MediaSession* session = request.mutable_media_session_update()->add_sessions();
    session->set_id(update_id);
    for (const std::string& text : update_leg_specs) {
      auto leg = tools::ParseLeg(text, tools::LegFor::kUpdate);
      if (!leg) return Fail(kExitUsage, "--leg " + text + ": " + leg.error());
      *session->add_legs() = *leg;
    }
  }
  for (uint64_t id : media_ids) request.mutable_media_session_delete()->add_sessions()->set_id(id);

  std::unique_ptr<tools::Connection> connection;
  if (!console_socket.empty()) {
    if (console_user.empty()) return Fail(kExitUsage, "--console needs --user");
    auto password = tools::ReadPassword("console password for " + console_user + ": ");
    if (!password) return Fail(kExitUsage, password.error());
    schema::Response login;
    auto connected = tools::ConnectConsole(console_socket, console_user, *password, &login);
    std::fill(password->begin(), password->end(), '\0');
    if (!connected) return Fail(connected.error().exit_code, connected.error().message);
    connection = std::move(*connected);
    if (!login.login_banner().empty() && output == "text")
      std::cerr << login.login_banner() << std::endl;
  }
  // After the login's password, so both can come from stdin in that order.
  if (request.has_user_set_password()) {
    auto password = tools::ReadNewPassword(user_name);
    if (!password) return Fail(kExitUsage, password.error());
    request.mutable_user_set_password()->set_password(*password);
  }

  std::optional<tools::SshTunnel> tunnel;
  if (!connection) {
    const auto address = tools::ParseAddress(connect);
    if (!address) return Fail(kExitUsage, "--connect " + connect + ": " + address.error());
    if (ca.empty() || cert.empty() || key.empty())
      return Fail(kExitUsage,
                  "--ca, --cert and --key (or SBCCTL_CA, SBCCTL_CERT, SBCCTL_KEY) are required");
    const auto ca_pem = ReadFile(ca), cert_pem = ReadFile(cert), key_pem = ReadFile(key);
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
    if (!connected) return Fail(connected.error().exit_code, connected.error().message);
    connection = std::move(*connected);
  }

  if (request.has_audit_read()) {
    request.mutable_audit_read()->set_from(audit_from);
    if (audit_limit != 0)
      request.mutable_audit_read()->set_max(
          static_cast<uint32_t>(std::min<uint64_t>(audit_limit, 1000)));
  }
  auto reply = connection->Call(request);
  if (!reply) return Fail(reply.error().exit_code, reply.error().message);
  // The audit log comes a page at a time: the rest, up to --limit.
  while (request.has_audit_read() && reply->outcome() == schema::OK && reply->audit_next() != 0 &&
         (audit_limit == 0 || static_cast<uint64_t>(reply->audit_size()) < audit_limit)) {
    request.mutable_audit_read()->set_from(reply->audit_next());
    auto more = connection->Call(request);
    if (!more) return Fail(more.error().exit_code, more.error().message);
    if (more->outcome() != schema::OK) {
      reply = std::move(more);
      break;
    }
    for (auto& e : *more->mutable_audit()) *reply->add_audit() = std::move(e);
    reply->set_audit_next(more->audit_next());
  }
  if (audit_limit != 0 && static_cast<uint64_t>(reply->audit_size()) > audit_limit)
    reply->mutable_audit()->DeleteSubrange(static_cast<int>(audit_limit),
                                           reply->audit_size() - static_cast<int>(audit_limit));
  const schema::Response& response = *reply;

  if (request.has_cert_approve() && response.outcome() == schema::OK) {
    std::ofstream(cert_out) << response.certificate_pem();
    std::cout << "wrote " << cert_out << std::endl;
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
      return (request.has_audit_verify() && !response.audit_intact()) ? kExitRefused : kExitOk;
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
