// Turning the workers' packet-log records into log lines for operators.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sbc/dataplane/firewall/packet_log.h"

namespace sbc::firmware {

// Formats records as one line each:
//   deny reason=denied port=wan0 udp 198.51.100.7:40000 -> 192.0.2.11:5060
//   allow rule=carrier-ping port=wan0 icmp 198.51.100.7 -> 192.0.2.1 type=8 code=0
// With `pseudonymise`, each address becomes "anon-" and 12 hex digits of
// HMAC-SHA256(`key`, address) (mbedTLS): the same address always reads the same within
// one key's life, so attacks stay visible, but the address itself is not logged.
class PacketLogFormatter {
 public:
  PacketLogFormatter(std::vector<std::string> port_names, std::vector<std::string> rule_names,
                     bool pseudonymise, std::array<uint8_t, 32> key);
  [[nodiscard]] std::string Line(const dataplane::PacketLogRecord& record) const;

 private:
  [[nodiscard]] std::string Address(const dataplane::PacketLogRecord& r, const uint8_t* addr) const;
  std::vector<std::string> port_names_;
  std::vector<std::string> rule_names_;
  bool pseudonymise_;
  std::array<uint8_t, 32> key_;
};

// A random pseudonymisation key from the OS (std::random_device reads /dev/urandom).
[[nodiscard]] std::array<uint8_t, 32> RandomLogKey();

}  // namespace sbc::firmware
