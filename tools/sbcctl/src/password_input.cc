#include "password_input.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace sbc::tools {

std::expected<std::string, std::string> ReadPassword(const std::string& prompt) {
  std::string line;
  if (!isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, line))
      return std::unexpected(std::string("no password on standard input"));
    return line;
  }
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  const bool read = static_cast<bool>(std::getline(std::cin, line));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << "\n";
  if (!read) return std::unexpected(std::string("no password entered"));
  return line;
}

std::expected<std::string, std::string> ReadNewPassword(const std::string& user) {
  auto first = ReadPassword("new console password for " + user + ": ");
  if (!first || !isatty(STDIN_FILENO)) return first;
  auto again = ReadPassword("again: ");
  if (!again) return again;
  if (*again != *first) return std::unexpected(std::string("the two passwords differ"));
  return first;
}

}  // namespace sbc::tools
