#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbc/mgmt/users/directory.h"

namespace sbc::mgmt::users {
namespace {

using ::testing::HasSubstr;

TEST(DirectoryTest, AddRemoveAndSetRolesKeepASecurityAdmin) {
  schema::UserDirectory d;
  ASSERT_TRUE(AddUser(d, "sam", {schema::SECURITY_ADMIN}).has_value());
  EXPECT_THAT(AddUser(d, "sam", {schema::VIEWER}).error(), HasSubstr("exists"));
  EXPECT_THAT(AddUser(d, "Bad Name", {schema::VIEWER}).error(), HasSubstr("is not a user name"));
  EXPECT_THAT(AddUser(d, "vera", {}).error(), HasSubstr("at least one role"));
  EXPECT_THAT(RemoveUser(d, "sam").error(), HasSubstr("last security-admin"));
  EXPECT_THAT(SetRoles(d, "sam", {schema::OPERATOR}).error(), HasSubstr("last security-admin"));
  ASSERT_TRUE(AddUser(d, "sue", {schema::SECURITY_ADMIN, schema::AUDITOR}).has_value());
  EXPECT_TRUE(SetRoles(d, "sam", {schema::OPERATOR}).has_value());
  EXPECT_EQ(Describe(d.users(0)), "sam (OPERATOR)");
  EXPECT_TRUE(RemoveUser(d, "sam").has_value());
  EXPECT_THAT(RemoveUser(d, "sam").error(), HasSubstr("no user"));
}

}  // namespace
}  // namespace sbc::mgmt::users
