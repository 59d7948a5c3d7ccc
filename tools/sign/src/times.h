// Times as signers type them.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace sbc::tools {

// "2027-01-31T00:00:00Z" (UTC), or "+30d" / "+12h" from `now_unix`.
[[nodiscard]] std::expected<int64_t, std::string> ParseTime(std::string_view text,
                                                            int64_t now_unix);

// "2027-01-31T00:00:00Z".
[[nodiscard]] std::string FormatTime(int64_t unix_seconds);

}  // namespace sbc::tools
