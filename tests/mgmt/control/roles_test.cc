// Every RPC with every role: allowed exactly as each role's job needs (the expected
// matrix in tests/support is written from the roles' descriptions, not from the table).
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sbc/mgmt/control/roles.h"
#include "support/role_matrix.h"

namespace sbc::mgmt::control {
namespace {

using namespace schema;

const auto& kExpected = testing::ExpectedRoleMatrix();

TEST(RolesTest, EveryRpcWithEveryRoleIsAllowedExactlyAsExpected) {
  int checked = 0;
  for (int r = Rpc_MIN; r <= Rpc_MAX; ++r) {
    if (!Rpc_IsValid(r)) continue;
    const Rpc rpc = static_cast<Rpc>(r);
    for (const auto& [role, allowed] : kExpected) {
      const Role roles[] = {role};
      EXPECT_EQ(Allowed(rpc, roles), allowed.contains(rpc))
          << Rpc_Name(rpc) << " as " << Role_Name(role);
      ++checked;
    }
  }
  EXPECT_EQ(checked, (Rpc_MAX + 1) * 5);
}

TEST(RolesTest, EveryRealRpcHasSomeRole) {
  for (int r = Rpc_MIN; r <= Rpc_MAX; ++r) {
    if (!Rpc_IsValid(r) || r == RPC_UNSPECIFIED) continue;
    EXPECT_FALSE(RolesFor(static_cast<Rpc>(r)).empty()) << Rpc_Name(static_cast<Rpc>(r));
  }
}

TEST(RolesTest, NoRolesOrUnknownRpcsAreDenied) {
  EXPECT_FALSE(Allowed(STATUS, {}));
  const Role unspecified[] = {ROLE_UNSPECIFIED};
  EXPECT_FALSE(Allowed(STATUS, unspecified));
  const Role all[] = {VIEWER, OPERATOR, SIGNALING, AUDITOR, SECURITY_ADMIN};
  EXPECT_FALSE(Allowed(RPC_UNSPECIFIED, all));
  EXPECT_FALSE(Allowed(static_cast<Rpc>(999), all));
}

TEST(RolesTest, SeveralRolesCombine) {
  const Role both[] = {VIEWER, SIGNALING};
  EXPECT_TRUE(Allowed(MEDIA_SESSION_CREATE, both));
  EXPECT_TRUE(Allowed(COUNTERS, both));
  EXPECT_FALSE(Allowed(CONFIG_PUSH, both));
}

TEST(RolesTest, ViewersSeeNoPersonalData) {
  // These RPCs return phone numbers, addresses or people's names.
  const Role viewer[] = {VIEWER};
  for (Rpc rpc : {MEDIA_SESSION_LIST, AUDIT_READ, USER_LIST, SUBJECT_EXPORT, CONFIG_SHOW})
    EXPECT_FALSE(Allowed(rpc, viewer)) << Rpc_Name(rpc);
}

}  // namespace
}  // namespace sbc::mgmt::control
