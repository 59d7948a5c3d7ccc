#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbc/mgmt/users/passwords.h"

namespace sbc::mgmt::users {
namespace {

using ::testing::HasSubstr;

TEST(PasswordsTest, HashesAreSaltedSlowAndVerify) {
  auto a = HashPassword("Correct-Horse-42");
  auto b = HashPassword("Correct-Horse-42");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_GE(a->iterations(), 600'000u);
  EXPECT_EQ(a->salt().size(), 16u);
  EXPECT_NE(a->salt(), b->salt());
  EXPECT_NE(a->hash(), b->hash()) << "same password, same hash: the salt is not used";
  EXPECT_TRUE(Matches(*a, "Correct-Horse-42"));
  EXPECT_FALSE(Matches(*a, "correct-Horse-42"));
  EXPECT_FALSE(HashPassword("x", 1000).has_value()) << "too few iterations accepted";
}

TEST(PasswordsTest, PolicyNamesWhatIsWrong) {
  const PasswordPolicy policy;
  EXPECT_THAT(CheckPolicy("otto", "Short-1", policy).error(), HasSubstr("shorter than 12"));
  EXPECT_THAT(CheckPolicy("otto", "MyNameIsOtto-1", policy).error(),
              HasSubstr("contains the user name"));
  EXPECT_THAT(CheckPolicy("otto", "alllowercaseletters", policy).error(),
              HasSubstr("at least 3 are required"));
  EXPECT_TRUE(CheckPolicy("otto", "Correct-Horse-42", policy).has_value());
}

TEST(PasswordsTest, PolicyComesFromTheConfigWithDefaultsForUnsetFields) {
  const PasswordPolicy defaults = PolicyFrom(schema::PasswordPolicy{});
  EXPECT_EQ(defaults.min_length, 12u);
  EXPECT_EQ(defaults.min_character_classes, 3);
  EXPECT_EQ(defaults.max_failures, 5u);
  EXPECT_EQ(defaults.lockout_s, 900);
  schema::PasswordPolicy configured;
  configured.set_min_length(20);
  configured.set_max_failed_logins(2);
  const PasswordPolicy policy = PolicyFrom(configured);
  EXPECT_EQ(policy.min_length, 20u);
  EXPECT_EQ(policy.min_character_classes, 3) << "an unset field keeps its default";
  EXPECT_EQ(policy.max_failures, 2u);
  EXPECT_THAT(CheckPolicy("otto", "Correct-Horse-42", policy).error(),
              HasSubstr("shorter than 20"));
}

schema::User* AddUser(schema::UserDirectory& d, const std::string& name, schema::Role role) {
  schema::User* u = d.add_users();
  u->set_name(name);
  u->add_roles(role);
  *u->mutable_password() = *HashPassword("Correct-Horse-42");
  return u;
}

TEST(PasswordsTest, RepeatedFailuresLockOutAndTheLockExpires) {
  schema::UserDirectory d;
  AddUser(d, "otto", schema::OPERATOR);
  AddUser(d, "sam", schema::SECURITY_ADMIN);
  const PasswordPolicy policy{.max_failures = 3, .lockout_s = 60};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Login(d, "otto", "wrong", 1000, policy), LoginResult::kWrongPassword);
  EXPECT_EQ(Login(d, "otto", "Correct-Horse-42", 1001, policy), LoginResult::kLocked);
  EXPECT_EQ(Login(d, "otto", "Correct-Horse-42", 1061, policy), LoginResult::kOk);
  EXPECT_EQ(Login(d, "nobody", "x", 1061, policy), LoginResult::kUnknownUser);
}

// The last security-admin is not locked out for the whole lockout (nobody could
// administer the appliance), but guessing at that account slows down: past the limit,
// each failure doubles the wait before the next try, up to the lockout (it used to
// allow a guess at every attempt, without limit).
TEST(PasswordsTest, TheLastSecurityAdminIsThrottledNotLockedOut) {
  schema::UserDirectory d;
  AddUser(d, "sam", schema::SECURITY_ADMIN);
  AddUser(d, "sue", schema::SECURITY_ADMIN);
  const PasswordPolicy policy{.max_failures = 2, .lockout_s = 600};
  for (int i = 0; i < 2; ++i) (void)Login(d, "sue", "wrong", 1000, policy);
  EXPECT_EQ(Login(d, "sue", "Correct-Horse-42", 1001, policy), LoginResult::kLocked)
      << "sue had a colleague";
  d.mutable_users(1)->set_disabled(true);  // and sue leaves: sam is the last for good
  int64_t t = 1002;
  EXPECT_EQ(Login(d, "sam", "wrong", t, policy), LoginResult::kWrongPassword);
  EXPECT_EQ(Login(d, "sam", "wrong", t, policy),
            LoginResult::kWrongPassword);  // the limit: 1 s to wait
  int64_t wait = 1, guesses = 0;
  for (int round = 0; round < 12; ++round) {
    EXPECT_EQ(Login(d, "sam", "Correct-Horse-42", t + wait - 1, policy), LoginResult::kLocked)
        << "round " << round;
    t += wait;
    EXPECT_EQ(Login(d, "sam", "wrong", t, policy), LoginResult::kWrongPassword)
        << "round " << round;
    ++guesses;
    wait = std::min<int64_t>(wait * 2, 600);
  }
  EXPECT_EQ(wait, 600) << "the wait stops growing at the lockout";
  EXPECT_EQ(guesses, 12) << "12 guesses took " << (t - 1002) << " s";
  EXPECT_EQ(Login(d, "sam", "Correct-Horse-42", t + wait, policy), LoginResult::kOk)
      << "the admin still gets in";
}

}  // namespace
}  // namespace sbc::mgmt::users
