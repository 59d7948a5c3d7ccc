// Validation of an ApplianceConfig, before anything is compiled or stored.
#pragma once

#include <string>
#include <vector>

#include "sbc/schema/config.pb.h"

namespace sbc::mgmt::config {

// Each entry is "<field path>: <reason>", e.g. "rules[3].dst_ports[0]: range
// 7000-6000 is empty". Every problem is reported, in field order; empty means valid.
// Any thread.
[[nodiscard]] std::vector<std::string> ValidateConfig(const schema::ApplianceConfig& config);

}  // namespace sbc::mgmt::config
