// Who may call what: the one table mapping every control-API RPC to the roles allowed.
// Need to know and need to do: each role gets the RPCs its job needs and no more.
#pragma once

#include <span>
#include <vector>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::control {

// True when a caller holding `roles` may call `rpc`. Unknown RPCs and callers without
// roles are denied. Any thread.
[[nodiscard]] bool Allowed(schema::Rpc rpc, std::span<const schema::Role> roles);

// The roles allowed to call `rpc` (empty for unknown RPCs), for help texts and audits.
[[nodiscard]] std::vector<schema::Role> RolesFor(schema::Rpc rpc);

}  // namespace sbc::mgmt::control
