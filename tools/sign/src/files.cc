#include "files.h"

#include <fstream>
#include <iostream>
#include <sstream>

namespace sbc::tools {

int Error(int code, const std::string& line) {
  std::cerr << "sbc-sign: " << line << std::endl;
  return code;
}

std::expected<std::string, std::string> Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot be read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return static_cast<bool>(out.flush());
}

}  // namespace sbc::tools
