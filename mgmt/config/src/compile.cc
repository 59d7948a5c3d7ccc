#include "sbc/mgmt/config/compile.h"

#include <algorithm>
#include <map>

#include "sbc/mgmt/config/addresses.h"
#include "sbc/mgmt/config/validate.h"

namespace sbc::mgmt::config {
namespace {

using dataplane::IpPrefix;
using Prefixes = std::vector<IpPrefix>;
using StringList = google::protobuf::RepeatedPtrField<std::string>;

// Validation has run: every prefix and range here parses.
Prefixes Expand(const StringList& literal, const StringList& set_names,
                const std::map<std::string, Prefixes>& sets) {
  Prefixes out;
  for (const auto& text : literal) out.push_back(*ParsePrefix(text));
  for (const auto& name : set_names) {
    const Prefixes& set = sets.at(name);
    out.insert(out.end(), set.begin(), set.end());
  }
  return out;
}

std::vector<dataplane::PortRange> Ranges(const StringList& texts) {
  std::vector<dataplane::PortRange> out;
  out.reserve(texts.size());
  for (const auto& text : texts) out.push_back(*ParsePortRange(text));
  return out;
}

uint32_t Or(uint32_t value, uint32_t fallback) { return value != 0 ? value : fallback; }

}  // namespace

std::expected<dataplane::RuleTableSpec, std::vector<std::string>> CompileConfig(
    const schema::ApplianceConfig& config, uint64_t version,
    std::span<const std::string> board_ports) {
  std::vector<std::string> errors = ValidateConfig(config);
  for (int i = 0; i < config.interfaces_size(); ++i) {
    const std::string& port = config.interfaces(i).port();
    if (!port.empty() &&
        std::find(board_ports.begin(), board_ports.end(), port) == board_ports.end())
      errors.push_back("interfaces[" + std::to_string(i) +
                       "].port: the board has no port named \"" + port + "\"");
  }
  if (!errors.empty()) return std::unexpected(std::move(errors));

  std::map<std::string, Prefixes> sets;
  for (const auto& set : config.prefix_sets()) {
    Prefixes& prefixes = sets[set.name()];
    for (const auto& text : set.prefixes()) prefixes.push_back(*ParsePrefix(text));
  }

  dataplane::RuleTableSpec spec;
  spec.version = version;
  std::map<std::string, uint8_t> zone_index;
  for (const auto& zone : config.zones()) {
    zone_index[zone.name()] = static_cast<uint8_t>(spec.zones.size());
    spec.zone_names.push_back(zone.name());
    dataplane::ZoneSpec& z = spec.zones.emplace_back();
    z.allowed_sources = Expand({}, zone.source_sets(), sets);
    z.max_half_open_tcp = zone.max_half_open_tcp();
  }
  for (const auto& intf : config.interfaces()) {
    const auto slot =
        std::find(board_ports.begin(), board_ports.end(), intf.port()) - board_ports.begin();
    spec.zones[zone_index.at(intf.zone())].port_slots.push_back(static_cast<uint8_t>(slot));
  }

  spec.rules.reserve(config.rules_size());
  spec.rule_names.reserve(config.rules_size());
  for (const schema::Rule& rule : config.rules()) {
    spec.rule_names.push_back(rule.name());
    dataplane::RuleSpec& r = spec.rules.emplace_back();
    r.from_zone = zone_index.at(rule.from_zone());
    r.to_zone = zone_index.at(rule.to_zone());
    r.protocol = static_cast<dataplane::IpProtocol>(rule.protocol());
    r.sources = Expand(rule.src_prefixes(), rule.src_sets(), sets);
    r.destinations = Expand(rule.dst_prefixes(), rule.dst_sets(), sets);
    r.source_ports = Ranges(rule.src_ports());
    r.destination_ports = Ranges(rule.dst_ports());
    for (uint32_t type : rule.icmp_types()) r.icmp_types.push_back(static_cast<uint8_t>(type));
    r.rate_pps = rule.rate_limit().packets_per_second();
    r.rate_burst = Or(rule.rate_limit().burst(), r.rate_pps);
    r.log = rule.log();
    r.allow_fragments = rule.allow_fragments();
  }

  const schema::Conntrack& ct = config.conntrack();
  dataplane::ConntrackSpec& c = spec.conntrack;
  c.tcp_established_timeout_s = Or(ct.tcp_established_timeout_s(), c.tcp_established_timeout_s);
  c.tcp_transitory_timeout_s = Or(ct.tcp_transitory_timeout_s(), c.tcp_transitory_timeout_s);
  c.udp_timeout_s = Or(ct.udp_timeout_s(), c.udp_timeout_s);
  c.icmp_timeout_s = Or(ct.icmp_timeout_s(), c.icmp_timeout_s);
  c.max_flows = Or(ct.max_flows(), c.max_flows);
  c.max_flows_per_source = ct.max_flows_per_source();
  c.new_flows_per_second_per_source = config.flood_protection().new_flows_per_second_per_source();
  c.new_flows_burst =
      Or(config.flood_protection().new_flows_burst(), c.new_flows_per_second_per_source);
  c.max_half_open_tcp = config.flood_protection().max_half_open_tcp();
  c.max_half_open_tcp_per_source = config.flood_protection().max_half_open_tcp_per_source();
  spec.pseudonymise_log_addresses = config.privacy().pseudonymise();
  const schema::MediaRelay& media = config.media();
  for (const auto& address : media.service_addresses()) {
    spec.local_addresses.push_back(*ParseAddress(address));
    spec.media.service_addresses.push_back(*ParseAddress(address));
  }
  spec.media.port_min = static_cast<uint16_t>(media.port_min());
  spec.media.port_max = static_cast<uint16_t>(media.port_max());
  for (int suite : media.allowed_suites())
    spec.media.allowed_suites.push_back(static_cast<uint8_t>(suite));
  spec.media.latching = media.latching() == schema::LATCH_FIRST_PACKET ? 1
                        : media.latching() == schema::LATCH_NEVER      ? 2
                                                                       : 0;
  spec.media.idle_timeout_s = Or(media.idle_timeout_s(), spec.media.idle_timeout_s);
  spec.media.max_sessions = Or(media.max_sessions(), spec.media.max_sessions);
  return spec;
}

}  // namespace sbc::mgmt::config
