// One sbcctl command as its group's file declares it (commands/<group>.cc): its CLI11
// options, and, once chosen, the request it builds and what it does besides one call.
// main parses, connects, calls and prints the same way for every command.
//
// A new verb: its subcommand in its group's file (or a new file, with its Add...
// line below and in main.cc), and how its reply reads in print.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <expected>
#include <functional>
#include <optional>
#include <string>

#include "connection.h"
#include "sbc/schema/control.pb.h"

namespace sbc::tools {

// A step of a command that may stop it, saying why and with which exit code.
using Step = std::expected<void, Failure>;

struct Command {
  // The RPC's field set by the chosen subcommand's callback, then its arguments.
  schema::Request request;
  // Before connecting: what the parsed options still need (files read, text parsed).
  std::function<Step(schema::Request&)> prepare;
  // After connecting: a console login reads its password before this does, so both
  // can come from stdin in that order.
  std::function<Step(schema::Request&)> prepare_connected;
  // Instead of one call, for a command whose reply comes a page at a time.
  std::function<std::expected<schema::Response, Failure>(Connection&, schema::Request&)> call;
  // What an OK reply holds that goes to a file rather than to stdout; when set, that
  // is all the command prints.
  std::function<Step(const schema::Response&)> save;
  // True when an OK reply reports a failure still (a broken audit chain): exit 1.
  std::function<bool(const schema::Response&)> failed_despite_ok;
  // A command done here, without the appliance: its exit code. Nothing is sent.
  std::function<int()> offline;
};

// A usage error (exit 2) saying `message`.
[[nodiscard]] inline Failure Usage(std::string message) { return {kExitUsage, std::move(message)}; }
// A file's bytes, or nothing when it cannot be read.
[[nodiscard]] std::optional<std::string> ReadWholeFile(const std::string& path);
// A file named on the command line: its bytes, or a usage error naming it.
[[nodiscard]] std::expected<std::string, Failure> ReadFileArgument(const std::string& path);

// Each group's subcommands, added to `app`; the chosen one fills `command`.
void AddStatusCommands(CLI::App& app, Command& command);    // status, counters
void AddConfigCommands(CLI::App& app, Command& command);    // config push|confirm|...
void AddUserCommands(CLI::App& app, Command& command);      // users list|add|...|approve-cert
void AddClockCommands(CLI::App& app, Command& command);     // clock set
void AddKeyCommands(CLI::App& app, Command& command);       // keys rotate
void AddMediaCommands(CLI::App& app, Command& command);     // media create|update|delete|list
void AddAuditCommands(CLI::App& app, Command& command);     // audit show|verify
void AddFirmwareCommands(CLI::App& app, Command& command);  // firmware status|upload|...

}  // namespace sbc::tools
