// users: who may use the control API, their roles, console passwords and certificates
// (a new operator makes a key and a request here; a security-admin approves it).
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <memory>
#include <tuple>

#include "commands/command.h"
#include "password_input.h"
#include "sbc/mgmt/pki/certificate_authority.h"

namespace sbc::tools {
namespace {

struct UserOptions {
  std::string name;
  std::vector<std::string> roles;
  std::string request_dir = ".", csr_file, cert_out;
};

// "security-admin" -> SECURITY_ADMIN.
Step AddRoles(const std::vector<std::string>& names, schema::UserRoles* user) {
  for (std::string role : names) {
    for (char& c : role)
      c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    schema::Role parsed;
    if (!schema::Role_Parse(role, &parsed) || parsed == schema::ROLE_UNSPECIFIED)
      return std::unexpected(Usage("unknown role \"" + role + "\""));
    user->add_roles(parsed);
  }
  return {};
}

// Offline: NAME.key (0600, never overwritten) and NAME.csr in `dir`.
int RequestCertificate(const std::string& name, const std::string& dir) {
  auto made = mgmt::pki::CreateRequest(name);
  if (!made) {
    std::cerr << "sbcctl: " << made.error() << std::endl;
    return kExitRefused;
  }
  const std::string key_path = dir + "/" + name + ".key";
  const int fd = open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  const bool written = fd >= 0 && write(fd, made->key_pem.data(), made->key_pem.size()) ==
                                      static_cast<ssize_t>(made->key_pem.size());
  if (fd >= 0) close(fd);
  if (!written) {
    std::cerr << "sbcctl: " << key_path << ": cannot create (exists?)" << std::endl;
    return kExitUsage;
  }
  std::ofstream(dir + "/" + name + ".csr") << made->cert_pem;
  std::cout << "wrote " << key_path << " and " << dir << "/" << name
            << ".csr; send the .csr to a security-admin" << std::endl;
  return kExitOk;
}

}  // namespace

void AddUserCommands(CLI::App& app, Command& command) {
  // Held by the callbacks, so the values CLI11 writes outlive this function.
  auto options = std::make_shared<UserOptions>();
  auto* users = app.add_subcommand("users", "who may use the control API")->require_subcommand(1);
  users->add_subcommand("list", "users and their roles")->callback([&] {
    (void)command.request.mutable_user_list();
  });
  for (auto [verb, rpc, help] :
       {std::tuple{"add", schema::USER_ADD, "add a user (their certificate CN)"},
        std::tuple{"set-roles", schema::USER_SET_ROLES, "replace a user's roles"},
        std::tuple{"remove", schema::USER_REMOVE, "remove a user"}}) {
    auto* cmd = users->add_subcommand(verb, help);
    cmd->add_option("name", options->name)->required();
    if (rpc == schema::USER_REMOVE) {
      cmd->callback(
          [&command, options] { command.request.mutable_user_remove()->set_name(options->name); });
      continue;
    }
    cmd->add_option("--role", options->roles,
                    "viewer, operator, signaling, auditor, security-admin (repeatable)")
        ->required();
    cmd->callback([&command, options, rpc] {
      command.prepare = [options, rpc](schema::Request& request) {
        schema::UserRoles* user =
            rpc == schema::USER_ADD ? request.mutable_user_add() : request.mutable_user_set_roles();
        user->set_name(options->name);
        return AddRoles(options->roles, user);
      };
      // The field is set now, so the request names its RPC whatever prepare does.
      if (rpc == schema::USER_ADD)
        (void)command.request.mutable_user_add();
      else
        (void)command.request.mutable_user_set_roles();
    });
  }
  users
      ->add_subcommand("set-password",
                       "set a user's console break-glass password (asked, never an argument)")
      ->callback([&command, options] {
        command.request.mutable_user_set_password()->set_name(options->name);
        command.prepare_connected = [options](schema::Request& request) -> Step {
          auto password = ReadNewPassword(options->name);
          if (!password) return std::unexpected(Usage(password.error()));
          request.mutable_user_set_password()->set_password(*password);
          return {};
        };
      })
      ->add_option("name", options->name)
      ->required();
  auto* request_cert =
      users->add_subcommand("request-cert", "make a key and certificate request (offline)");
  request_cert->add_option("name", options->name, "your user name")->required();
  request_cert->add_option("--dir", options->request_dir,
                           "where to write NAME.key (0600) and NAME.csr");
  request_cert->callback([&command, options] {
    command.offline = [options] { return RequestCertificate(options->name, options->request_dir); };
  });
  auto* approve =
      users->add_subcommand("approve-cert", "have the appliance's CA sign a user's request");
  approve->add_option("name", options->name)->required();
  approve->add_option("--csr", options->csr_file, "the user's NAME.csr")->required();
  approve->add_option("--out", options->cert_out, "where to write the certificate")->required();
  approve->callback([&command, options] {
    command.request.mutable_cert_approve()->set_name(options->name);
    command.prepare = [options](schema::Request& request) -> Step {
      auto csr = ReadFileArgument(options->csr_file);
      if (!csr) return std::unexpected(csr.error());
      request.mutable_cert_approve()->set_csr_pem(*csr);
      return {};
    };
    command.save = [options](const schema::Response& response) -> Step {
      std::ofstream(options->cert_out) << response.certificate_pem();
      std::cout << "wrote " << options->cert_out << std::endl;
      return {};
    };
  });
}

}  // namespace sbc::tools
