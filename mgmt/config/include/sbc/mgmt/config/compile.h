// Compiling a verified ApplianceConfig into the dataplane's rule tables.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

#include "sbc/dataplane/firewall/rule_spec.h"
#include "sbc/schema/config.pb.h"

namespace sbc::mgmt::config {

// Validates `config` (ValidateConfig), checks every interface names one of the board's
// ports (`board_ports`, in board order), then resolves zone and prefix-set names,
// expands sets and applies defaults. Any thread. On failure returns every error,
// each "<field path>: <reason>"; nothing is partially compiled.
[[nodiscard]] std::expected<dataplane::RuleTableSpec, std::vector<std::string>> CompileConfig(
    const schema::ApplianceConfig& config, uint64_t version,
    std::span<const std::string> board_ports);

}  // namespace sbc::mgmt::config
