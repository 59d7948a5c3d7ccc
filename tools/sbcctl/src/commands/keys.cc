// keys: the appliance's own keys, rotated.
#include "commands/command.h"

namespace sbc::tools {

void AddKeyCommands(CLI::App& app, Command& command) {
  auto* keys = app.add_subcommand("keys", "the appliance's own keys")->require_subcommand(1);
  // The one argument goes straight into the request (parsed only with its subcommand).
  keys->add_subcommand("rotate", "replace a key (mgmtd-tls: the control API's server key)")
      ->add_option_function<std::string>(
          "name",
          [&command](const std::string& name) {
            command.request.mutable_key_rotate()->set_key_name(name);
          },
          "which key")
      ->required();
}

}  // namespace sbc::tools
