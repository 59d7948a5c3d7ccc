// The firewall's rule tables as the control side hands them to the packet core.
//
// mgmt/config compiles a verified ApplianceConfig into a RuleTableSpec: names are
// resolved to indexes, prefix sets expanded, defaults applied. This is the one
// definition of these tables; the packet core builds its lookup structures (rte_acl,
// meters) from it on the control lcore and publishes them to the workers.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sbc::dataplane {

// Most rules a rule set may hold: the workers size their per-rule counters and meters
// by it, and mgmt/config refuses a configuration with more.
inline constexpr size_t kMaxRules = 65535;

struct IpPrefix {
  bool ipv6 = false;
  std::array<uint8_t, 16> address{};  // network order; IPv4 uses the first 4 bytes
  uint8_t length = 0;                 // bits
  friend bool operator==(const IpPrefix&, const IpPrefix&) = default;
};

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 65535;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

enum class IpProtocol : uint8_t { kAny = 0, kIcmp = 1, kTcp = 6, kUdp = 17, kIcmpV6 = 58 };

struct RuleSpec {
  uint8_t from_zone = 0;  // index into RuleTableSpec::zones
  uint8_t to_zone = 0;
  IpProtocol protocol = IpProtocol::kAny;
  std::vector<IpPrefix> sources;             // empty: any
  std::vector<IpPrefix> destinations;        // empty: any
  std::vector<PortRange> source_ports;       // empty: any (TCP/UDP only)
  std::vector<PortRange> destination_ports;  // empty: any
  std::vector<uint8_t> icmp_types;           // empty: any (ICMP/ICMPv6 only)
  uint32_t rate_pps = 0;                     // 0: unlimited
  uint32_t rate_burst = 0;
  bool log = false;
  bool allow_fragments = false;
};

struct ZoneSpec {
  std::vector<uint8_t> port_slots;        // board port indexes in this zone
  std::vector<IpPrefix> allowed_sources;  // anti-spoofing; empty: any
  uint32_t max_half_open_tcp = 0;         // from this zone; 0: no zone limit
};

struct ConntrackSpec {
  uint32_t tcp_established_timeout_s = 7440;
  uint32_t tcp_transitory_timeout_s = 120;
  uint32_t udp_timeout_s = 180;
  uint32_t icmp_timeout_s = 30;
  uint32_t max_flows = 1u << 20;
  uint32_t max_flows_per_source = 0;  // 0: no per-source limit
  uint32_t new_flows_per_second_per_source = 0;
  uint32_t new_flows_burst = 0;
  uint32_t max_half_open_tcp = 0;             // in all; 0: unlimited
  uint32_t max_half_open_tcp_per_source = 0;  // 0: unlimited
};

// The media relay's part of the config (media): where relay ports come from and what
// sessions may ask for. Suites use the numbering of the config schema's SrtpSuite
// (1..4), which is also SrtpSuite's order + 1.
struct MediaSettings {
  std::vector<IpPrefix> service_addresses;  // host prefixes; the first of a family serves it
  uint16_t port_min = 0, port_max = 0;      // 0/0: no media relay configured
  std::vector<uint8_t> allowed_suites;      // empty: every SRTP suite
  // media.latching: 0 LATCH_AUTHENTICATED (SRTP latches on what authenticates, plain
  // RTP never), 1 LATCH_FIRST_PACKET (plain RTP too, on its first packet), 2
  // LATCH_NEVER (nothing latches). The order of dataplane::Latching.
  uint8_t latching = 0;
  uint32_t idle_timeout_s = 60;
  uint32_t max_sessions = 100000;
};

struct RuleTableSpec {
  uint64_t version = 0;                 // the signed bundle's version
  std::vector<std::string> zone_names;  // for counters and logs
  std::vector<ZoneSpec> zones;
  std::vector<std::string> rule_names;  // rule_names[i] names rules[i]
  std::vector<RuleSpec> rules;          // first match wins
  ConntrackSpec conntrack;
  // The appliance's own addresses on its data ports (media.service_addresses): it
  // answers ARP, neighbour solicitations and echo requests for them.
  std::vector<IpPrefix> local_addresses;
  // Packet log lines show keyed pseudonyms instead of addresses (privacy.pseudonymise).
  bool pseudonymise_log_addresses = false;
  MediaSettings media;
};

}  // namespace sbc::dataplane
