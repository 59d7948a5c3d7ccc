// Semantic checks of ApplianceConfig. All rules run, so one pass names every problem.
#include "sbc/mgmt/config/validate.h"

#include <map>
#include <set>
#include <sstream>

#include "sbc/dataplane/firewall/rule_spec.h"
#include "sbc/mgmt/config/addresses.h"

namespace sbc::mgmt::config {
namespace {

using schema::ApplianceConfig;

constexpr uint32_t kMaxTimeoutS = 86400;
constexpr uint32_t kMaxFlows = 100'000'000;
constexpr uint32_t kMaxZones = 64;

class Report {
 public:
  void Fail(const std::string& path, const std::string& reason) {
    errors_.push_back(path + ": " + reason);
  }
  std::vector<std::string> Take() { return std::move(errors_); }

 private:
  std::vector<std::string> errors_;
};

std::string At(std::string_view field, int index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

// [a-z][a-z0-9_-]{0,62}: safe in logs, counters and file names.
bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 63 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

// Checks names are valid and unique; returns the set of valid names.
template <typename Items>
std::set<std::string> CheckNames(const Items& items, std::string_view field, Report& report) {
  std::set<std::string> names;
  for (int i = 0; i < items.size(); ++i) {
    const std::string& name = items.Get(i).name();
    const std::string path = At(field, i) + ".name";
    if (!IsName(name))
      report.Fail(path, "\"" + name + "\" is not a name ([a-z][a-z0-9_-]{0,62})");
    else if (!names.insert(name).second)
      report.Fail(path, "\"" + name + "\" is defined twice");
  }
  return names;
}

void CheckTimeout(const std::string& path, uint32_t value, Report& report) {
  if (value > kMaxTimeoutS)
    report.Fail(path, std::to_string(value) + " is above " + std::to_string(kMaxTimeoutS) + " s");
}

void CheckReferences(const google::protobuf::RepeatedPtrField<std::string>& refs,
                     const std::string& path, const std::set<std::string>& known,
                     std::string_view kind, Report& report) {
  for (int i = 0; i < refs.size(); ++i)
    if (!known.contains(refs[i]))
      report.Fail(At(path, i), "no " + std::string(kind) + " named \"" + refs[i] + "\"");
}

// Address families a rule side can match: bit 0 IPv4, bit 1 IPv6.
constexpr unsigned kV4 = 1, kV6 = 2, kAnyFamily = 3;

// Families each prefix set holds, computed once: rules refer to sets many times.
using SetFamilies = std::map<std::string, unsigned>;

SetFamilies FamiliesOfSets(const ApplianceConfig& config) {
  SetFamilies families;
  for (const auto& set : config.prefix_sets()) {
    unsigned& f = families[set.name()];
    for (const auto& text : set.prefixes())
      if (auto p = ParsePrefix(text)) f |= p->ipv6 ? kV6 : kV4;
  }
  return families;
}

unsigned Families(const SetFamilies& set_families,
                  const google::protobuf::RepeatedPtrField<std::string>& prefixes,
                  const google::protobuf::RepeatedPtrField<std::string>& sets) {
  if (prefixes.empty() && sets.empty()) return kAnyFamily;
  unsigned families = 0;
  for (const auto& text : prefixes)
    if (auto p = ParsePrefix(text)) families |= p->ipv6 ? kV6 : kV4;
  for (const auto& name : sets)
    if (auto it = set_families.find(name); it != set_families.end()) families |= it->second;
  return families;
}

void CheckInterfaces(const ApplianceConfig& config, const std::set<std::string>& zones,
                     Report& report) {
  std::set<std::string> ports;
  for (int i = 0; i < config.interfaces_size(); ++i) {
    const auto& intf = config.interfaces(i);
    const std::string at = At("interfaces", i);
    if (intf.port().empty())
      report.Fail(at + ".port", "is required");
    else if (!ports.insert(intf.port()).second)
      report.Fail(at + ".port", "port \"" + intf.port() + "\" is already in a zone");
    if (!zones.contains(intf.zone()))
      report.Fail(at + ".zone", "no zone named \"" + intf.zone() + "\"");
  }
}

void CheckPrefixSets(const ApplianceConfig& config, Report& report) {
  for (int i = 0; i < config.prefix_sets_size(); ++i) {
    const auto& set = config.prefix_sets(i);
    if (set.prefixes().empty()) report.Fail(At("prefix_sets", i) + ".prefixes", "is empty");
    for (int j = 0; j < set.prefixes_size(); ++j)
      if (auto p = ParsePrefix(set.prefixes(j)); !p)
        report.Fail(At(At("prefix_sets", i) + ".prefixes", j), p.error());
  }
}

void CheckPrefixes(const google::protobuf::RepeatedPtrField<std::string>& prefixes,
                   const std::string& path, Report& report) {
  for (int i = 0; i < prefixes.size(); ++i)
    if (auto p = ParsePrefix(prefixes[i]); !p) report.Fail(At(path, i), p.error());
}

void CheckPorts(const google::protobuf::RepeatedPtrField<std::string>& ports,
                const std::string& path, bool allowed, Report& report) {
  if (!ports.empty() && !allowed) {
    report.Fail(path, "ports need protocol TCP or UDP");
    return;
  }
  for (int i = 0; i < ports.size(); ++i)
    if (auto r = ParsePortRange(ports[i]); !r) report.Fail(At(path, i), r.error());
}

void CheckRules(const ApplianceConfig& config, const std::set<std::string>& zones,
                const std::set<std::string>& sets, Report& report) {
  const SetFamilies set_families = FamiliesOfSets(config);
  if (config.rules_size() > static_cast<int>(dataplane::kMaxRules))
    report.Fail("rules", std::to_string(config.rules_size()) + " rules, at most " +
                             std::to_string(dataplane::kMaxRules));
  for (int i = 0; i < config.rules_size(); ++i) {
    const schema::Rule& rule = config.rules(i);
    const std::string at = At("rules", i);
    if (!zones.contains(rule.from_zone()))
      report.Fail(at + ".from_zone", "no zone named \"" + rule.from_zone() + "\"");
    if (!zones.contains(rule.to_zone()))
      report.Fail(at + ".to_zone", "no zone named \"" + rule.to_zone() + "\"");
    CheckPrefixes(rule.src_prefixes(), at + ".src_prefixes", report);
    CheckPrefixes(rule.dst_prefixes(), at + ".dst_prefixes", report);
    CheckReferences(rule.src_sets(), at + ".src_sets", sets, "prefix set", report);
    CheckReferences(rule.dst_sets(), at + ".dst_sets", sets, "prefix set", report);

    const unsigned src = Families(set_families, rule.src_prefixes(), rule.src_sets());
    const unsigned dst = Families(set_families, rule.dst_prefixes(), rule.dst_sets());
    if ((src & dst) == 0 && src != 0 && dst != 0)
      report.Fail(at, std::string("sources are ") + (src == kV4 ? "IPv4" : "IPv6") +
                          " only and destinations " + (dst == kV4 ? "IPv4" : "IPv6") +
                          " only: the rule can never match");

    const schema::Protocol proto = rule.protocol();
    const bool has_ports = proto == schema::TCP || proto == schema::UDP;
    CheckPorts(rule.src_ports(), at + ".src_ports", has_ports, report);
    CheckPorts(rule.dst_ports(), at + ".dst_ports", has_ports, report);
    const bool is_icmp = proto == schema::ICMP || proto == schema::ICMPV6;
    if (!rule.icmp_types().empty() && !is_icmp)
      report.Fail(at + ".icmp_types", "ICMP types need protocol ICMP or ICMPV6");
    for (int j = 0; j < rule.icmp_types_size(); ++j)
      if (rule.icmp_types(j) > 255)
        report.Fail(At(at + ".icmp_types", j),
                    std::to_string(rule.icmp_types(j)) + " is above 255");
    if (proto == schema::ICMP && (src == kV6 || dst == kV6))
      report.Fail(at + ".protocol", "ICMP with IPv6 addresses: use ICMPV6");
    if (proto == schema::ICMPV6 && (src == kV4 || dst == kV4))
      report.Fail(at + ".protocol", "ICMPV6 with IPv4 addresses: use ICMP");
    if (rule.rate_limit().burst() != 0 && rule.rate_limit().packets_per_second() == 0)
      report.Fail(at + ".rate_limit.burst", "a burst needs packets_per_second");
  }
}

void CheckConntrack(const ApplianceConfig& config, Report& report) {
  const schema::Conntrack& ct = config.conntrack();
  CheckTimeout("conntrack.tcp_established_timeout_s", ct.tcp_established_timeout_s(), report);
  CheckTimeout("conntrack.tcp_transitory_timeout_s", ct.tcp_transitory_timeout_s(), report);
  CheckTimeout("conntrack.udp_timeout_s", ct.udp_timeout_s(), report);
  CheckTimeout("conntrack.icmp_timeout_s", ct.icmp_timeout_s(), report);
  if (ct.max_flows() > kMaxFlows)
    report.Fail("conntrack.max_flows",
                std::to_string(ct.max_flows()) + " is above " + std::to_string(kMaxFlows));
  if (ct.max_flows() != 0 && ct.max_flows_per_source() > ct.max_flows())
    report.Fail("conntrack.max_flows_per_source", "is above conntrack.max_flows");
  const schema::FloodProtection& flood = config.flood_protection();
  if (flood.new_flows_burst() != 0 && flood.new_flows_per_second_per_source() == 0)
    report.Fail("flood_protection.new_flows_burst",
                "a burst needs new_flows_per_second_per_source");
  if (flood.max_half_open_tcp() != 0 &&
      flood.max_half_open_tcp_per_source() > flood.max_half_open_tcp())
    report.Fail("flood_protection.max_half_open_tcp_per_source",
                "is above flood_protection.max_half_open_tcp");
}

void CheckMedia(const ApplianceConfig& config, Report& report) {
  if (!config.has_media()) return;
  const schema::MediaRelay& media = config.media();
  for (int i = 0; i < media.service_addresses_size(); ++i)
    if (auto a = ParseAddress(media.service_addresses(i)); !a)
      report.Fail(At("media.service_addresses", i), a.error());
  if (media.port_min() < 1024 || media.port_min() % 2 != 0)
    report.Fail("media.port_min", std::to_string(media.port_min()) + " must be even and >= 1024");
  if (media.port_max() > 65535 || media.port_max() <= media.port_min())
    report.Fail("media.port_max",
                std::to_string(media.port_max()) + " must be above port_min and at most 65535");
  for (int i = 0; i < media.allowed_suites_size(); ++i)
    if (media.allowed_suites(i) == schema::SRTP_SUITE_UNSPECIFIED)
      report.Fail(At("media.allowed_suites", i), "is unspecified");
  CheckTimeout("media.idle_timeout_s", media.idle_timeout_s(), report);
}

void CheckManagement(const ApplianceConfig& config, Report& report) {
  const schema::Management& m = config.management();
  if (!m.listen_address().empty())
    if (auto a = ParseAddress(m.listen_address()); !a)
      report.Fail("management.listen_address", a.error());
  if (m.listen_port() > 65535)
    report.Fail("management.listen_port", std::to_string(m.listen_port()) + " is above 65535");
  if (m.max_clients() > 1024)
    report.Fail("management.max_clients", std::to_string(m.max_clients()) + " is above 1024");
  // A quarter of the slots (at least one) is for connections still in their handshake.
  if (m.max_clients() == 1)
    report.Fail("management.max_clients",
                "1 is below 2 (one slot for handshakes, one for a session)");
  CheckTimeout("management.session_idle_timeout_s", m.session_idle_timeout_s(), report);
  if (m.login_banner().size() > 4096)
    report.Fail("management.login_banner",
                std::to_string(m.login_banner().size()) + " bytes, at most 4096");
  // Zero means the default; anything set must lie in its range.
  const schema::PasswordPolicy& p = m.password_policy();
  const auto in_range = [&](const char* field, uint32_t value, uint32_t low, uint32_t high) {
    if (value != 0 && (value < low || value > high))
      report.Fail(std::string("management.password_policy.") + field,
                  std::to_string(value) + " is outside [" + std::to_string(low) + ", " +
                      std::to_string(high) + "]");
  };
  in_range("min_length", p.min_length(), 8, 128);
  in_range("min_character_classes", p.min_character_classes(), 1, 4);
  in_range("max_failed_logins", p.max_failed_logins(), 1, 20);
  in_range("lockout_s", p.lockout_s(), 60, 86400);
}

void CheckPrivacy(const ApplianceConfig& config, const std::set<std::string>& sets,
                  Report& report) {
  const schema::Privacy& p = config.privacy();
  if (p.record_retention_days() > 3650)
    report.Fail("privacy.record_retention_days",
                std::to_string(p.record_retention_days()) + " is above 3650");
  CheckReferences(p.allowed_egress_sets(), "privacy.allowed_egress_sets", sets, "prefix set",
                  report);
}

}  // namespace

std::vector<std::string> ValidateConfig(const ApplianceConfig& config) {
  Report report;
  const std::set<std::string> zones = CheckNames(config.zones(), "zones", report);
  if (zones.size() > kMaxZones) report.Fail("zones", "at most " + std::to_string(kMaxZones));
  const std::set<std::string> sets = CheckNames(config.prefix_sets(), "prefix_sets", report);
  CheckNames(config.rules(), "rules", report);
  CheckInterfaces(config, zones, report);
  for (int i = 0; i < config.zones_size(); ++i)
    CheckReferences(config.zones(i).source_sets(), At("zones", i) + ".source_sets", sets,
                    "prefix set", report);
  CheckPrefixSets(config, report);
  CheckRules(config, zones, sets, report);
  CheckConntrack(config, report);
  CheckMedia(config, report);
  CheckManagement(config, report);
  CheckPrivacy(config, sets, report);
  return report.Take();
}

}  // namespace sbc::mgmt::config
