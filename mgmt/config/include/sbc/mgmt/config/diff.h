// Readable differences between two configurations, for operators and the audit log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sbc/schema/config.pb.h"

namespace sbc::mgmt::config {

// Unified diff (3 lines of context, "@@ -a,b +c,d @@" hunks) of the configs' text
// format, labelled `from_label` and `to_label`. Empty when they are equal. Any thread.
[[nodiscard]] std::string DiffConfigs(const schema::ApplianceConfig& from,
                                      const schema::ApplianceConfig& to,
                                      std::string_view from_label, std::string_view to_label);

// The same for any two texts, line by line (Myers' O(ND) algorithm).
[[nodiscard]] std::string UnifiedDiff(const std::vector<std::string>& from,
                                      const std::vector<std::string>& to,
                                      std::string_view from_label, std::string_view to_label);

}  // namespace sbc::mgmt::config
