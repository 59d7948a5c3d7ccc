#include "sbc/mgmt/service/rpc_registry.h"

#include <algorithm>
#include <array>

#include "rpc/service_state.h"

namespace sbc::mgmt::service {
namespace {

// Every feature's rows in one table, built once. Two rows for one RPC would make the
// first one win silently: the registry test holds each RPC to one row.
std::vector<RpcRow> Collect() {
  std::vector<RpcRow> rows;
  for (std::span<const RpcRow> feature : {StatusRpcs(), ConfigRpcs(), MediaRpcs(), AuditRpcs(),
                                          UserRpcs(), ClockRpcs(), KeyRpcs(), FirmwareRpcs()})
    rows.insert(rows.end(), feature.begin(), feature.end());
  return rows;
}

const std::vector<RpcRow>& Rows() {
  static const std::vector<RpcRow> rows = Collect();
  return rows;
}

}  // namespace

std::span<const RpcRow> RpcRows() { return Rows(); }

const RpcRow* FindRpc(schema::Rpc rpc) {
  for (const RpcRow& row : Rows())
    if (row.rpc == rpc) return &row;
  return nullptr;
}

bool Allows(const RpcRow& row, std::span<const schema::Role> roles) {
  return std::any_of(roles.begin(), roles.end(), [&](schema::Role r) {
    return r > schema::ROLE_UNSPECIFIED && r <= schema::Role_MAX && (row.roles & RoleBit(r)) != 0;
  });
}

bool Allowed(schema::Rpc rpc, std::span<const schema::Role> roles) {
  const RpcRow* row = FindRpc(rpc);
  return row != nullptr && Allows(*row, roles);
}

}  // namespace sbc::mgmt::service
