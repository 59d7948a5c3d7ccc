// clock: the appliance's time, set by a security-admin (audited with old and new time).
#include <memory>

#include "commands/command.h"
#include "sbc/mgmt/clock/settable_clock.h"

namespace sbc::tools {

void AddClockCommands(CLI::App& app, Command& command) {
  auto text = std::make_shared<std::string>();  // held by the callback
  auto* clock = app.add_subcommand("clock", "the appliance's clock")->require_subcommand(1);
  auto* set =
      clock->add_subcommand("set", "set the appliance's time (audited with old and new time)");
  set->add_option("time", *text, "UTC, e.g. 2026-11-28T20:15:00Z")->required();
  set->callback([&command, text] {
    (void)command.request.mutable_clock_set();
    command.prepare = [text](schema::Request& request) -> Step {
      auto when = mgmt::clock::ParseUtc(*text);
      if (!when) return std::unexpected(Usage(when.error()));
      request.mutable_clock_set()->set_unix_ms(*when);
      return {};
    };
  });
}

}  // namespace sbc::tools
