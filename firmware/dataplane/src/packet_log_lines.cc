#include "sbc/firmware/packet_log_lines.h"

#include <arpa/inet.h>
#include <mbedtls/md.h>

#include <random>
#include <sstream>

namespace sbc::firmware {
namespace {

const char* ProtocolName(uint8_t p) {
  switch (p) {
    case dataplane::kProtoTcp:
      return "tcp";
    case dataplane::kProtoUdp:
      return "udp";
    case dataplane::kProtoIcmp:
      return "icmp";
    case dataplane::kProtoIcmpV6:
      return "icmpv6";
    default:
      return nullptr;
  }
}

}  // namespace

std::array<uint8_t, 32> RandomLogKey() {
  std::random_device os;
  std::array<uint8_t, 32> key{};
  for (auto& b : key) b = static_cast<uint8_t>(os());
  return key;
}

PacketLogFormatter::PacketLogFormatter(std::vector<std::string> port_names,
                                       std::vector<std::string> rule_names, bool pseudonymise,
                                       std::array<uint8_t, 32> key)
    : port_names_(std::move(port_names)),
      rule_names_(std::move(rule_names)),
      pseudonymise_(pseudonymise),
      key_(key) {}

std::string PacketLogFormatter::Address(const dataplane::PacketLogRecord& r,
                                        const uint8_t* addr) const {
  const bool v6 = r.family == dataplane::Family::kIpv6;
  if (pseudonymise_) {
    unsigned char mac[32];
    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), key_.data(), key_.size(), addr,
                    v6 ? 16 : 4, mac);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "anon-";
    for (int i = 0; i < 6; ++i) {
      out.push_back(kHex[mac[i] >> 4]);
      out.push_back(kHex[mac[i] & 15]);
    }
    return out;
  }
  char text[INET6_ADDRSTRLEN];
  inet_ntop(v6 ? AF_INET6 : AF_INET, addr, text, sizeof(text));
  return text;
}

std::string PacketLogFormatter::Line(const dataplane::PacketLogRecord& r) const {
  std::ostringstream out;
  if (r.reason == dataplane::kNotDropped)
    out << "allow rule=" << (r.rule < rule_names_.size() ? rule_names_[r.rule] : "?");
  else
    out << "deny reason=" << dataplane::DropReasonName(r.reason);
  out << " port=" << (r.in_slot < port_names_.size() ? port_names_[r.in_slot] : "?") << " ";
  const char* proto = ProtocolName(r.protocol);
  if (proto)
    out << proto;
  else
    out << "proto-" << int(r.protocol);
  const bool ports = r.protocol == dataplane::kProtoTcp || r.protocol == dataplane::kProtoUdp;
  const bool v6 = r.family == dataplane::Family::kIpv6;
  auto endpoint = [&](const uint8_t* addr, uint16_t port) {
    std::string a = Address(r, addr);
    if (!ports) return a;
    return (v6 && !pseudonymise_ ? "[" + a + "]" : a) + ":" + std::to_string(port);
  };
  out << " " << endpoint(r.src, r.src_port) << " -> " << endpoint(r.dst, r.dst_port);
  if (r.protocol == dataplane::kProtoIcmp || r.protocol == dataplane::kProtoIcmpV6)
    out << " type=" << (r.src_port >> 8) << " code=" << (r.src_port & 0xff);
  return out.str();
}

}  // namespace sbc::firmware
