// The dataplane's own check of a configuration bundle: it trusts no other process to
// have verified it. Verify the envelope against the key store's trust root, then
// compile the config into the packet core's tables for this board's ports.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "sbc/board/board.h"
#include "sbc/dataplane/firewall/rule_spec.h"
#include "sbc/mgmt/trust/verifier.h"

namespace sbc::firmware {

struct VerifiedConfig {
  dataplane::RuleTableSpec tables;
  int signatures = 0;
};

// Control thread. `now_unix` for the expiry check. Fails with one line: the refusal
// reason and message, or the first compile error.
[[nodiscard]] std::expected<VerifiedConfig, std::string> VerifyAndCompile(
    const mgmt::trust::Verifier& verifier, const board::Board& board, std::string_view envelope,
    int64_t now_unix);

}  // namespace sbc::firmware
