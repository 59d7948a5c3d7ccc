// status, counters: what the appliance runs and what its dataplane counts.
#include "commands/command.h"

namespace sbc::tools {

void AddStatusCommands(CLI::App& app, Command& command) {
  app.add_subcommand("status", "running config version and pending confirmation")->callback([&] {
    (void)command.request.mutable_status();
  });
  app.add_subcommand("counters", "ports, drops by reason, rules")->callback([&] {
    (void)command.request.mutable_counters();
  });
}

}  // namespace sbc::tools
