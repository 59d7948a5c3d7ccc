// The registry: one row for each RPC the Request can call, each allowed to exactly the
// roles whose job needs it (the expected matrix in tests/support is written from the
// roles' descriptions, not from the rows), and the Request's fields named and numbered
// as the RPCs they call.
#include "sbc/mgmt/service/rpc_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>

#include "support/role_matrix.h"

namespace sbc::mgmt::service {
namespace {

using namespace schema;

const auto& kExpected = testing::ExpectedRoleMatrix();

std::string Lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

TEST(RpcRegistryTest, EveryRequestFieldCallsTheRpcItIsNumberedAndNamedAs) {
  const google::protobuf::OneofDescriptor* call = Request::descriptor()->FindOneofByName("call");
  ASSERT_NE(call, nullptr);
  ASSERT_EQ(call->field_count(), Request::descriptor()->field_count()) << "a field outside `call`";
  for (int i = 0; i < call->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = call->field(i);
    ASSERT_TRUE(Rpc_IsValid(field->number())) << field->name() << " is numbered as no Rpc";
    EXPECT_EQ(field->name(), Lowercase(Rpc_Name(static_cast<Rpc>(field->number()))));
    EXPECT_EQ(field->type(), google::protobuf::FieldDescriptor::TYPE_MESSAGE) << field->name();
  }
}

TEST(RpcRegistryTest, EveryRequestFieldHasOneRowAndEveryRowAField) {
  std::set<Rpc> rows;
  for (const RpcRow& row : RpcRows()) {
    EXPECT_TRUE(rows.insert(row.rpc).second) << Rpc_Name(row.rpc) << " has two rows";
    EXPECT_NE(Request::descriptor()->FindFieldByNumber(row.rpc), nullptr)
        << Rpc_Name(row.rpc) << " has a row but no Request field to call it";
    EXPECT_NE(row.handle, nullptr) << Rpc_Name(row.rpc);
    EXPECT_NE(row.audit, nullptr) << Rpc_Name(row.rpc);
    EXPECT_EQ(FindRpc(row.rpc), &row);
  }
  const google::protobuf::OneofDescriptor* call = Request::descriptor()->FindOneofByName("call");
  for (int i = 0; i < call->field_count(); ++i)
    EXPECT_TRUE(rows.contains(static_cast<Rpc>(call->field(i)->number())))
        << call->field(i)->name() << " calls an RPC nothing serves";
  EXPECT_EQ(FindRpc(RPC_UNSPECIFIED), nullptr);
}

TEST(RpcRegistryTest, TheFieldSetNamesTheRpc) {
  Request request;
  EXPECT_EQ(RpcOf(request), RPC_UNSPECIFIED);
  request.mutable_config_diff()->set_from_version(1);
  EXPECT_EQ(RpcOf(request), CONFIG_DIFF);
  request.mutable_user_add()->set_name("alice");  // a oneof: the last one set is the call
  EXPECT_EQ(RpcOf(request), USER_ADD);
}

TEST(RpcRegistryTest, EveryRpcWithEveryRoleIsAllowedExactlyAsExpected) {
  int checked = 0;
  for (int r = Rpc_MIN; r <= Rpc_MAX; ++r) {
    if (!Rpc_IsValid(r)) continue;
    const Rpc rpc = static_cast<Rpc>(r);
    // An RPC named for a coming feature is denied to all until it is served.
    const bool served = FindRpc(rpc) != nullptr;
    for (const auto& [role, allowed] : kExpected) {
      const Role roles[] = {role};
      EXPECT_EQ(Allowed(rpc, roles), served && allowed.contains(rpc))
          << Rpc_Name(rpc) << " as " << Role_Name(role);
      ++checked;
    }
  }
  EXPECT_EQ(checked, (Rpc_MAX + 1) * 5);
}

TEST(RpcRegistryTest, EveryServedRpcHasSomeRole) {
  for (const RpcRow& row : RpcRows()) {
    EXPECT_NE(row.roles, 0u) << Rpc_Name(row.rpc);
    EXPECT_EQ(row.roles & ~kEveryRole, 0u) << Rpc_Name(row.rpc) << " names a role that is none";
  }
}

TEST(RpcRegistryTest, NoRolesOrUnknownRpcsAreDenied) {
  EXPECT_FALSE(Allowed(STATUS, {}));
  const Role unspecified[] = {ROLE_UNSPECIFIED};
  EXPECT_FALSE(Allowed(STATUS, unspecified));
  const Role out_of_range[] = {static_cast<Role>(31)};
  EXPECT_FALSE(Allowed(STATUS, out_of_range));
  const Role all[] = {VIEWER, OPERATOR, SIGNALING, AUDITOR, SECURITY_ADMIN};
  EXPECT_FALSE(Allowed(RPC_UNSPECIFIED, all));
  EXPECT_FALSE(Allowed(static_cast<Rpc>(999), all));
  EXPECT_FALSE(Allowed(SUBJECT_EXPORT, all));  // not served yet
}

TEST(RpcRegistryTest, SeveralRolesCombine) {
  const Role both[] = {VIEWER, SIGNALING};
  EXPECT_TRUE(Allowed(MEDIA_SESSION_CREATE, both));
  EXPECT_TRUE(Allowed(COUNTERS, both));
  EXPECT_FALSE(Allowed(CONFIG_PUSH, both));
}

TEST(RpcRegistryTest, ViewersSeeNoPersonalData) {
  // These RPCs return phone numbers, addresses or people's names.
  const Role viewer[] = {VIEWER};
  for (Rpc rpc : {MEDIA_SESSION_LIST, AUDIT_READ, USER_LIST, SUBJECT_EXPORT, CONFIG_SHOW})
    EXPECT_FALSE(Allowed(rpc, viewer)) << Rpc_Name(rpc);
}

}  // namespace
}  // namespace sbc::mgmt::service
