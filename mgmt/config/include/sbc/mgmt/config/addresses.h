// Parsing the address and port notations people write in configuration.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "sbc/dataplane/firewall/rule_spec.h"

namespace sbc::mgmt::config {

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits
// beyond the length must be zero. Returns the reason on failure. Any thread.
[[nodiscard]] std::expected<dataplane::IpPrefix, std::string> ParsePrefix(std::string_view text);

// A bare IPv4 or IPv6 address.
[[nodiscard]] std::expected<dataplane::IpPrefix, std::string> ParseAddress(std::string_view text);

// "5060" or "10000-20000", ports 1..65535, first <= last.
[[nodiscard]] std::expected<dataplane::PortRange, std::string> ParsePortRange(
    std::string_view text);

}  // namespace sbc::mgmt::config
