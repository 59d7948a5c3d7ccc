// Building rte_acl contexts from RuleTableSpec: every rule expands into the product of
// its sources, destinations and port ranges (or ICMP types), per address family.
#include "sbc/dataplane/firewall/firewall_tables.h"

#include <rte_acl.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>

namespace sbc::dataplane {
namespace {

// rte_acl consumes every input group after the first byte as exactly 4 bytes, so the
// zone/fragment group carries a fourth, always-wildcard byte field (kPad).
enum Field4 { kProto4, kFrom4, kTo4, kFrag4, kPad4, kSrc4, kDst4, kSport4, kDport4, kFields4 };
enum Field6 {
  kProto6,
  kFrom6,
  kTo6,
  kFrag6,
  kPad6,
  kSrc6_0,
  kSrc6_1,
  kSrc6_2,
  kSrc6_3,
  kDst6_0,
  kDst6_1,
  kDst6_2,
  kDst6_3,
  kSport6,
  kDport6,
  kFields6
};
RTE_ACL_RULE_DEF(Rule4, kFields4);
RTE_ACL_RULE_DEF(Rule6, kFields6);

template <typename Key>
void HeaderDefs(rte_acl_config& cfg) {
  cfg.defs[0] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, 0, offsetof(Key, protocol)};
  cfg.defs[1] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 1, 1, offsetof(Key, from_zone)};
  cfg.defs[2] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 2, 1, offsetof(Key, to_zone)};
  cfg.defs[3] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 3, 1, offsetof(Key, later_fragment)};
  cfg.defs[4] = {RTE_ACL_FIELD_TYPE_BITMASK, 1, 4, 1, offsetof(Key, pad1)};
}

rte_acl_config Config4() {
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.num_fields = kFields4;
  HeaderDefs<AclKey4>(cfg);
  cfg.defs[kSrc4] = {RTE_ACL_FIELD_TYPE_MASK, 4, kSrc4, 2, offsetof(AclKey4, src)};
  cfg.defs[kDst4] = {RTE_ACL_FIELD_TYPE_MASK, 4, kDst4, 3, offsetof(AclKey4, dst)};
  cfg.defs[kSport4] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kSport4, 4, offsetof(AclKey4, src_port)};
  cfg.defs[kDport4] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kDport4, 4, offsetof(AclKey4, dst_port)};
  return cfg;
}

rte_acl_config Config6() {
  rte_acl_config cfg{};
  cfg.num_categories = 1;
  cfg.num_fields = kFields6;
  HeaderDefs<AclKey6>(cfg);
  for (uint8_t w = 0; w < 4; ++w) {
    cfg.defs[kSrc6_0 + w] = {RTE_ACL_FIELD_TYPE_MASK, 4, uint8_t(kSrc6_0 + w), uint8_t(2 + w),
                             uint32_t(offsetof(AclKey6, src) + 4 * size_t{w})};
    cfg.defs[kDst6_0 + w] = {RTE_ACL_FIELD_TYPE_MASK, 4, uint8_t(kDst6_0 + w), uint8_t(6 + w),
                             uint32_t(offsetof(AclKey6, dst) + 4 * size_t{w})};
  }
  cfg.defs[kSport6] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kSport6, 10, offsetof(AclKey6, src_port)};
  cfg.defs[kDport6] = {RTE_ACL_FIELD_TYPE_RANGE, 2, kDport6, 10, offsetof(AclKey6, dst_port)};
  return cfg;
}

// One ACL rule's fields before they are written into a Rule4/Rule6.
struct Match {
  int protocol = -1;  // -1: any
  int from_zone = -1, to_zone = -1;
  int later_fragment = 0;         // 0 or 1: must equal; -1: any
  const IpPrefix* src = nullptr;  // nullptr: any
  const IpPrefix* dst = nullptr;
  PortRange src_ports{0, 65535};
  PortRange dst_ports{0, 65535};
};

void SetByte(rte_acl_field& f, int value) {
  f.value.u8 = static_cast<uint8_t>(value < 0 ? 0 : value);
  f.mask_range.u8 = value < 0 ? 0 : 0xff;
}

uint32_t Word(const IpPrefix& p, int w) {
  const uint8_t* a = p.address.data() + 4 * static_cast<size_t>(w);
  return uint32_t(a[0]) << 24 | uint32_t(a[1]) << 16 | uint32_t(a[2]) << 8 | a[3];
}

void SetPrefixWord(rte_acl_field& f, const IpPrefix* p, int w) {
  if (p == nullptr) {
    f.value.u32 = 0;
    f.mask_range.u32 = 0;
    return;
  }
  f.value.u32 = Word(*p, w);
  f.mask_range.u32 = static_cast<uint32_t>(std::clamp(int(p->length) - 32 * w, 0, 32));
}

void SetRange(rte_acl_field& f, PortRange r) {
  f.value.u16 = r.first;
  f.mask_range.u16 = r.last;
}

template <typename Rule>
void SetHeader(Rule& rule, const Match& m, uint32_t index) {
  rule.data.category_mask = 1;
  // rte_acl prefers the highest priority; rules are first-match in config order.
  rule.data.priority = static_cast<int32_t>(RTE_ACL_MAX_PRIORITY - index);
  rule.data.userdata = index + 1;
  SetByte(rule.field[0], m.protocol);
  SetByte(rule.field[1], m.from_zone);
  SetByte(rule.field[2], m.to_zone);
  SetByte(rule.field[3], m.later_fragment);
  SetByte(rule.field[4], -1);
}

Rule4 MakeRule4(const Match& m, uint32_t index) {
  Rule4 r{};
  SetHeader(r, m, index);
  SetPrefixWord(r.field[kSrc4], m.src, 0);
  SetPrefixWord(r.field[kDst4], m.dst, 0);
  SetRange(r.field[kSport4], m.src_ports);
  SetRange(r.field[kDport4], m.dst_ports);
  return r;
}

Rule6 MakeRule6(const Match& m, uint32_t index) {
  Rule6 r{};
  SetHeader(r, m, index);
  for (int w = 0; w < 4; ++w) {
    SetPrefixWord(r.field[kSrc6_0 + w], m.src, w);
    SetPrefixWord(r.field[kDst6_0 + w], m.dst, w);
  }
  SetRange(r.field[kSport6], m.src_ports);
  SetRange(r.field[kDport6], m.dst_ports);
  return r;
}

// Rules collected per family, then built into contexts.
struct RuleLists {
  std::vector<Rule4> v4;
  std::vector<Rule6> v6;
  void Add(bool ipv6, const Match& m, uint32_t index) {
    if (ipv6)
      v6.push_back(MakeRule6(m, index));
    else
      v4.push_back(MakeRule4(m, index));
  }
};

// The prefixes of one family, or a single "any" when the rule names none at all.
std::vector<const IpPrefix*> OfFamily(const std::vector<IpPrefix>& prefixes, bool ipv6) {
  std::vector<const IpPrefix*> out;
  if (prefixes.empty()) return {nullptr};
  for (const IpPrefix& p : prefixes)
    if (p.ipv6 == ipv6) out.push_back(&p);
  return out;
}

bool FamilyFits(IpProtocol protocol, bool ipv6) {
  if (protocol == IpProtocol::kIcmp) return !ipv6;
  if (protocol == IpProtocol::kIcmpV6) return ipv6;
  return true;
}

void ExpandRule(const RuleSpec& rule, uint32_t index, RuleLists& lists) {
  const std::vector<PortRange> any_port = {PortRange{0, 65535}};
  // ICMP type t matches key src_port in [t << 8, t << 8 | 0xff] (any code).
  std::vector<PortRange> first_ports = rule.source_ports.empty() ? any_port : rule.source_ports;
  if (!rule.icmp_types.empty()) {
    first_ports.clear();
    for (uint8_t t : rule.icmp_types)
      first_ports.push_back({uint16_t(t << 8), uint16_t(t << 8 | 0xff)});
  }
  const std::vector<PortRange>& second_ports =
      rule.destination_ports.empty() ? any_port : rule.destination_ports;
  const int protocol = rule.protocol == IpProtocol::kAny ? -1 : int(rule.protocol);

  for (bool ipv6 : {false, true}) {
    if (!FamilyFits(rule.protocol, ipv6)) continue;
    const auto srcs = OfFamily(rule.sources, ipv6);
    const auto dsts = OfFamily(rule.destinations, ipv6);
    for (const IpPrefix* src : srcs) {
      for (const IpPrefix* dst : dsts) {
        Match m{.protocol = protocol,
                .from_zone = rule.from_zone,
                .to_zone = rule.to_zone,
                .src = src,
                .dst = dst};
        for (PortRange sp : first_ports) {
          for (PortRange dp : second_ports) {
            m.src_ports = sp;
            m.dst_ports = dp;
            lists.Add(ipv6, m, index);
          }
        }
        if (rule.allow_fragments) {  // later fragments carry no ports: match on the rest
          m.later_fragment = 1;
          m.src_ports = m.dst_ports = PortRange{0, 65535};
          lists.Add(ipv6, m, index);
        }
      }
    }
  }
}

std::atomic<uint32_t> g_next_generation{1};

template <typename Rule>
std::expected<rte_acl_ctx*, std::string> BuildContext(const std::vector<Rule>& rules,
                                                      const rte_acl_config& cfg, const char* what,
                                                      uint32_t generation) {
  if (rules.empty()) return nullptr;  // nothing matches: every lookup answers 0
  const std::string name = std::string(what) + "_" + std::to_string(generation);
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = static_cast<int>(rte_socket_id());
  param.rule_size = sizeof(Rule);
  param.max_rule_num = static_cast<uint32_t>(rules.size());
  rte_acl_ctx* ctx = rte_acl_create(&param);
  if (ctx == nullptr)
    return std::unexpected(std::string("cannot create ACL context ") + name + ": " +
                           rte_strerror(rte_errno));
  int ret = rte_acl_add_rules(ctx, reinterpret_cast<const rte_acl_rule*>(rules.data()),
                              static_cast<uint32_t>(rules.size()));
  if (ret == 0) ret = rte_acl_build(ctx, &cfg);
  if (ret != 0) {
    rte_acl_free(ctx);
    return std::unexpected(std::string("cannot build ACL ") + name + " (" +
                           std::to_string(rules.size()) + " entries): " + rte_strerror(-ret));
  }
  return ctx;
}

void Classify(const rte_acl_ctx* ctx, const uint8_t** keys, uint32_t* results, uint32_t n) {
  if (ctx == nullptr) {
    std::fill_n(results, n, 0u);
    return;
  }
  rte_acl_classify(ctx, keys, results, n, 1);
}

rte_meter_srtcm_profile PacketMeter(uint64_t pps, uint64_t burst) {
  // rte_meter counts bytes; metering packets of "length 1" makes it count packets.
  rte_meter_srtcm_params params{
      .cir = std::max<uint64_t>(pps, 1), .cbs = std::max<uint64_t>(burst, 1), .ebs = 0};
  rte_meter_srtcm_profile profile{};
  rte_meter_srtcm_profile_config(&profile, &params);
  return profile;
}

uint32_t Share(uint32_t total, uint32_t workers) {
  return total == 0 ? 0 : std::max<uint32_t>(1, total / workers);
}

}  // namespace

std::expected<std::unique_ptr<FirewallTables>, std::string> FirewallTables::Build(
    const RuleTableSpec& spec, uint32_t workers, uint64_t tsc_hz) {
  std::unique_ptr<FirewallTables> t(new FirewallTables());
  workers = std::max<uint32_t>(workers, 1);
  t->version = spec.version;
  t->generation = g_next_generation.fetch_add(1);
  t->rule_count = spec.rules.size();
  t->zone_of_port.fill(kNoZone);
  for (size_t z = 0; z < spec.zones.size(); ++z)
    for (uint8_t slot : spec.zones[z].port_slots)
      if (slot < kMaxPorts) t->zone_of_port[slot] = static_cast<uint8_t>(z);

  RuleLists rules;
  t->rules.resize(spec.rules.size());
  for (uint32_t i = 0; i < spec.rules.size(); ++i) {
    const RuleSpec& r = spec.rules[i];
    ExpandRule(r, i, rules);
    t->rules[i].log = r.log;
    if (r.rate_pps != 0) {
      t->rules[i].metered = true;
      t->rules[i].meter = PacketMeter(Share(r.rate_pps, workers), Share(r.rate_burst, workers));
    }
  }
  RuleLists sources;
  for (uint32_t z = 0; z < spec.zones.size(); ++z) {
    Match m{.from_zone = int(z), .later_fragment = -1};
    if (spec.zones[z].allowed_sources.empty()) {
      sources.Add(false, m, 0);
      sources.Add(true, m, 0);
      continue;
    }
    for (const IpPrefix& p : spec.zones[z].allowed_sources) {
      m.src = &p;
      sources.Add(p.ipv6, m, 0);
    }
  }

  auto r4 = BuildContext(rules.v4, Config4(), "sbc_rules4", t->generation);
  if (!r4) return std::unexpected(r4.error());
  t->rules4_ = *r4;
  auto r6 = BuildContext(rules.v6, Config6(), "sbc_rules6", t->generation);
  if (!r6) return std::unexpected(r6.error());
  t->rules6_ = *r6;
  auto s4 = BuildContext(sources.v4, Config4(), "sbc_src4", t->generation);
  if (!s4) return std::unexpected(s4.error());
  t->sources4_ = *s4;
  auto s6 = BuildContext(sources.v6, Config6(), "sbc_src6", t->generation);
  if (!s6) return std::unexpected(s6.error());
  t->sources6_ = *s6;

  const ConntrackSpec& ct = spec.conntrack;
  t->max_flows = Share(ct.max_flows, workers);
  t->max_flows_per_source = ct.max_flows_per_source;  // a source's flows stay on one worker
  t->max_half_open = Share(ct.max_half_open_tcp, workers);
  t->max_half_open_per_source = ct.max_half_open_tcp_per_source;  // as max_flows_per_source
  for (const ZoneSpec& z : spec.zones)
    t->zone_max_half_open.push_back(Share(z.max_half_open_tcp, workers));
  if (ct.new_flows_per_second_per_source != 0) {
    t->source_flood_limited = true;
    t->source_flood = PacketMeter(ct.new_flows_per_second_per_source, ct.new_flows_burst);
  }
  t->local_addresses = spec.local_addresses;
  // ARP, ND and echo answers: enough for any neighbour, too few to amplify anything.
  // Resolution and echo have separate budgets: a ping flood must not starve the ARP
  // that keeps media flowing to our service addresses.
  constexpr uint32_t kRepliesPerSecond = 1000, kRepliesBurst = 200;
  t->resolution_meter =
      PacketMeter(Share(kRepliesPerSecond, workers), Share(kRepliesBurst, workers));
  t->echo_meter = PacketMeter(Share(kRepliesPerSecond, workers), Share(kRepliesBurst, workers));
  t->tcp_established_tsc = ct.tcp_established_timeout_s * tsc_hz;
  t->tcp_transitory_tsc = ct.tcp_transitory_timeout_s * tsc_hz;
  t->udp_tsc = ct.udp_timeout_s * tsc_hz;
  t->icmp_tsc = ct.icmp_timeout_s * tsc_hz;
  return t;
}

FirewallTables::~FirewallTables() {
  rte_acl_free(rules4_);
  rte_acl_free(rules6_);
  rte_acl_free(sources4_);
  rte_acl_free(sources6_);
}

void FirewallTables::ClassifyRules4(const uint8_t** keys, uint32_t* results, uint32_t n) const {
  Classify(rules4_, keys, results, n);
}
void FirewallTables::ClassifyRules6(const uint8_t** keys, uint32_t* results, uint32_t n) const {
  Classify(rules6_, keys, results, n);
}
void FirewallTables::ClassifySources4(const uint8_t** keys, uint32_t* results, uint32_t n) const {
  Classify(sources4_, keys, results, n);
}
void FirewallTables::ClassifySources6(const uint8_t** keys, uint32_t* results, uint32_t n) const {
  Classify(sources6_, keys, results, n);
}

}  // namespace sbc::dataplane
