#include "commands/command.h"

#include <fstream>
#include <sstream>

namespace sbc::tools {

std::optional<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::expected<std::string, Failure> ReadFileArgument(const std::string& path) {
  auto bytes = ReadWholeFile(path);
  if (!bytes) return std::unexpected(Usage(path + ": cannot be read"));
  return std::move(*bytes);
}

}  // namespace sbc::tools
