// The control API's registry: one row per RPC served, holding who may call it (its
// roles), what does it (its handler, with the feature in mgmt/service/src/rpc/), what the
// audit log says of it, and whether it calls the dataplane. ControlService looks the
// row up by the Request field that is set and does the rest the same way for all.
//
// A new RPC: its Request field (control.proto), its handler and row in the feature's
// file under mgmt/service/src/rpc/, and its sbcctl verb. Nothing else dispatches.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::service {

struct ServiceState;  // the service's users, store, audit log, attachments (src/rpc/)

constexpr uint32_t RoleBit(schema::Role role) { return 1u << role; }
inline constexpr uint32_t kEveryRole = RoleBit(schema::VIEWER) | RoleBit(schema::OPERATOR) |
                                       RoleBit(schema::SIGNALING) | RoleBit(schema::AUDITOR) |
                                       RoleBit(schema::SECURITY_ADMIN);

// How a handler runs. kUnderServiceLock: with the service's lock held throughout.
// kWaitsOnADaemon: without it, because it waits on the dataplane (up to 30 s when that
// is stuck) or on sbc-boot (an install), and nothing else may wait with it; it takes
// the lock itself around what it reads or changes of the service's state, never across
// the other daemon's call.
enum class Locking { kUnderServiceLock, kWaitsOnADaemon };

// Fills the response, and `detail` with what the audit entry should say when the
// handler knows more than the row's audit text (what a change changed).
using RpcHandler = schema::Response (*)(ServiceState& state, const schema::Request& request,
                                        std::string* detail);

struct RpcRow {
  schema::Rpc rpc;
  uint32_t roles;  // RoleBit() of each role allowed
  Locking locking;
  RpcHandler handle;
  // The audit entry's detail for an OK call whose handler wrote none ("read the status").
  const char* audit;
};

// The RPC a request calls: its Request field's number (RPC_UNSPECIFIED if none is set).
[[nodiscard]] inline schema::Rpc RpcOf(const schema::Request& request) {
  return static_cast<schema::Rpc>(request.call_case());
}

// Every row, in the order of the feature files; each RPC once.
[[nodiscard]] std::span<const RpcRow> RpcRows();
// The row of `rpc`, or nullptr: not served.
[[nodiscard]] const RpcRow* FindRpc(schema::Rpc rpc);
// True when a caller holding `roles` may call `row`'s RPC. Any thread.
[[nodiscard]] bool Allows(const RpcRow& row, std::span<const schema::Role> roles);
// Allows() for `rpc`: RPCs without a row, and callers without roles, are denied.
[[nodiscard]] bool Allowed(schema::Rpc rpc, std::span<const schema::Role> roles);

}  // namespace sbc::mgmt::service
