// Rule sets for tests that exercise forwarding rather than filtering.
#pragma once

#include "sbc/dataplane/firewall/rule_spec.h"

namespace sbc::testing {

// Board port 0 in zone "a", port 1 in zone "b", and one rule each way allowing any
// protocol from anywhere: the firewall passes every well-formed packet.
inline dataplane::RuleTableSpec AllowAllRules(uint64_t version = 1) {
  dataplane::RuleTableSpec spec;
  spec.version = version;
  spec.zone_names = {"a", "b"};
  spec.zones.resize(2);
  spec.zones[0].port_slots = {0};
  spec.zones[1].port_slots = {1};
  spec.rule_names = {"a-to-b", "b-to-a"};
  spec.rules.resize(2);
  spec.rules[0].from_zone = 0;
  spec.rules[0].to_zone = 1;
  spec.rules[1].from_zone = 1;
  spec.rules[1].to_zone = 0;
  return spec;
}

}  // namespace sbc::testing
