// sbc-sign's file and error helpers, shared by its subcommands.
#pragma once

#include <expected>
#include <string>

namespace sbc::tools {

// Prints "sbc-sign: <line>" to stderr and returns `code` (the subcommand's exit code).
int Error(int code, const std::string& line);

// The whole file, or "<path>: cannot be read".
[[nodiscard]] std::expected<std::string, std::string> Read(const std::string& path);

// Replaces `path` with `bytes`; false if it could not.
[[nodiscard]] bool Write(const std::string& path, const std::string& bytes);

}  // namespace sbc::tools
