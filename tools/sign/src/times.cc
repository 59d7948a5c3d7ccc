#include "times.h"

#include <charconv>
#include <ctime>

namespace sbc::tools {

std::expected<int64_t, std::string> ParseTime(std::string_view text, int64_t now_unix) {
  if (text.size() >= 3 && text.front() == '+') {
    int64_t amount = 0;
    const char* end = text.data() + text.size() - 1;
    const auto [ptr, ec] = std::from_chars(text.data() + 1, end, amount);
    const int64_t unit = text.back() == 'd' ? 86400 : text.back() == 'h' ? 3600 : 0;
    if (ec == std::errc() && ptr == end && unit != 0 && amount > 0) return now_unix + amount * unit;
  } else {
    std::tm tm{};
    const std::string s(text);
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end != nullptr && *end == '\0') return static_cast<int64_t>(timegm(&tm));
  }
  return std::unexpected("\"" + std::string(text) +
                         "\" is not a time: use 2027-01-31T00:00:00Z, +30d or +12h");
}

std::string FormatTime(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace sbc::tools
