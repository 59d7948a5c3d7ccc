// Reading a password for sbcctl: from the terminal with echo off when there is one,
// else one line of standard input (scripts, tests). Never from the command line,
// where it would land in shell history and the process list.
#pragma once

#include <expected>
#include <string>

namespace sbc::tools {

// Prompts with `prompt` on the terminal (not echoed), or reads the next line of stdin.
[[nodiscard]] std::expected<std::string, std::string> ReadPassword(const std::string& prompt);

// A new password: asked twice on a terminal, and the two must agree.
[[nodiscard]] std::expected<std::string, std::string> ReadNewPassword(const std::string& user);

}  // namespace sbc::tools
