#include "sbc/mgmt/config/addresses.h"

#include <arpa/inet.h>

#include <charconv>

namespace sbc::mgmt::config {
namespace {

std::expected<uint32_t, std::string> ParseNumber(std::string_view text, uint32_t max,
                                                 std::string_view what) {
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > max)
    return std::unexpected(std::string(what) + " \"" + std::string(text) +
                           "\" is not a number in 0-" + std::to_string(max));
  return value;
}

}  // namespace

std::expected<dataplane::IpPrefix, std::string> ParseAddress(std::string_view text) {
  dataplane::IpPrefix prefix;
  const std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), prefix.address.data()) == 1) {
    prefix.length = 32;
    return prefix;
  }
  if (inet_pton(AF_INET6, s.c_str(), prefix.address.data()) == 1) {
    prefix.ipv6 = true;
    prefix.length = 128;
    return prefix;
  }
  return std::unexpected("\"" + s + "\" is not an IPv4 or IPv6 address");
}

std::expected<dataplane::IpPrefix, std::string> ParsePrefix(std::string_view text) {
  const size_t slash = text.find('/');
  auto prefix = ParseAddress(text.substr(0, slash));
  if (!prefix) return std::unexpected("\"" + std::string(text) + "\" is not an address or prefix");
  if (slash == std::string_view::npos) return prefix;
  const uint32_t max = prefix->ipv6 ? 128 : 32;
  auto length = ParseNumber(text.substr(slash + 1), max, "prefix length");
  if (!length) return std::unexpected(length.error());
  prefix->length = static_cast<uint8_t>(*length);
  for (uint32_t bit = *length; bit < max; ++bit) {
    if (prefix->address[bit / 8] & (0x80 >> (bit % 8)))
      return std::unexpected("\"" + std::string(text) + "\" has host bits set beyond /" +
                             std::to_string(*length));
  }
  return prefix;
}

std::expected<dataplane::PortRange, std::string> ParsePortRange(std::string_view text) {
  const size_t dash = text.find('-');
  auto first = ParseNumber(text.substr(0, dash), 65535, "port");
  if (!first) return std::unexpected(first.error());
  auto last =
      dash == std::string_view::npos ? first : ParseNumber(text.substr(dash + 1), 65535, "port");
  if (!last) return std::unexpected(last.error());
  if (*first == 0 || *last == 0) return std::unexpected("port 0 is not a valid port");
  if (*first > *last) return std::unexpected("range " + std::string(text) + " is empty");
  return dataplane::PortRange{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
}

}  // namespace sbc::mgmt::config
