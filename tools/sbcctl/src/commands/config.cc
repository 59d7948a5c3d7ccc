// config: signed configuration bundles pushed, confirmed, rolled back, compared, shown.
#include <memory>

#include "commands/command.h"

namespace sbc::tools {
namespace {

struct ConfigOptions {
  std::string bundle_file, downgrade_file;
  uint32_t confirm_within = 0;
  uint64_t version = 0, other = 0;
};

}  // namespace

void AddConfigCommands(CLI::App& app, Command& command) {
  // Held by the callbacks, so the values CLI11 writes outlive this function.
  auto options = std::make_shared<ConfigOptions>();
  auto* config = app.add_subcommand("config", "signed configuration")->require_subcommand(1);
  auto* push = config->add_subcommand("push", "push a signed bundle");
  push->add_option("bundle", options->bundle_file, "signed bundle (sbc-sign)")->required();
  push->add_option("--confirm-within", options->confirm_within,
                   "revert unless confirmed within this many seconds");
  push->add_option("--downgrade", options->downgrade_file,
                   "signed downgrade authorisation (to push an older version)");
  push->callback([&command, options] {
    (void)command.request.mutable_config_push();
    command.prepare = [options](schema::Request& request) -> Step {
      auto bundle = ReadFileArgument(options->bundle_file);
      if (!bundle) return std::unexpected(bundle.error());
      schema::ConfigPush* args = request.mutable_config_push();
      args->set_bundle(*bundle);
      args->set_confirm_within_s(options->confirm_within);
      if (!options->downgrade_file.empty()) {
        auto authorization = ReadFileArgument(options->downgrade_file);
        if (!authorization) return std::unexpected(authorization.error());
        args->set_downgrade_authorization(*authorization);
      }
      return {};
    };
  });
  config->add_subcommand("confirm", "keep a push made with --confirm-within")->callback([&] {
    (void)command.request.mutable_config_confirm();
  });
  auto* rollback =
      config->add_subcommand("rollback", "run a stored, already-accepted version again");
  rollback->add_option("version", options->version)->required();
  rollback->callback([&command, options] {
    command.request.mutable_config_rollback()->set_version(options->version);
  });
  auto* diff = config->add_subcommand("diff", "unified diff between two stored versions");
  diff->add_option("from", options->version)->required();
  diff->add_option("to", options->other)->required();
  diff->callback([&command, options] {
    command.request.mutable_config_diff()->set_from_version(options->version);
    command.request.mutable_config_diff()->set_to_version(options->other);
  });
  config->add_subcommand("history", "stored versions")->callback([&] {
    (void)command.request.mutable_config_history();
  });
  config->add_subcommand("show", "the running configuration")->callback([&] {
    (void)command.request.mutable_config_show();
  });
}

}  // namespace sbc::tools
