// Console break-glass passwords: salted PBKDF2-HMAC-SHA256 (mbedTLS) with at least
// 600,000 iterations, a password policy, and lockout after repeated failures that can
// never lock out the last security-admin able to log in.
#pragma once

#include <cstdint>
#include <expected>
#include <string>

#include "sbc/schema/config.pb.h"
#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::users {

inline constexpr uint32_t kPbkdf2Iterations = 600'000;

struct PasswordPolicy {
  size_t min_length = 12;
  int min_character_classes = 3;  // of lower, upper, digit, other
  uint32_t max_failures = 5;      // then locked
  int64_t lockout_s = 900;
};

// The running config's management.password_policy, with defaults for unset fields.
[[nodiscard]] PasswordPolicy PolicyFrom(const schema::PasswordPolicy& configured);

// The reason `password` breaks `policy` for `user`, if it does.
[[nodiscard]] std::expected<void, std::string> CheckPolicy(const std::string& user,
                                                           const std::string& password,
                                                           const PasswordPolicy& policy);

// A new salted hash (random salt from the OS entropy source).
[[nodiscard]] std::expected<schema::PasswordHash, std::string> HashPassword(
    const std::string& password, uint32_t iterations = kPbkdf2Iterations);

// Compares in constant time.
[[nodiscard]] bool Matches(const schema::PasswordHash& stored, const std::string& password);
// A hash with the real ones' cost that no password matches: a login with no hash to
// try (an unknown user, a locked account) is checked against it, so how long a login
// takes tells nothing of which accounts exist.
[[nodiscard]] const schema::PasswordHash& DecoyHash();
// PBKDF2 derivations this process has run (tests: a decoy was checked). Any thread.
[[nodiscard]] uint64_t Derivations();

enum class LoginResult { kOk, kWrongPassword, kLocked, kUnknownUser };

// One console login attempt by `name` against `directory` at `now` (Unix seconds): counts failures
// and locks the user after policy.max_failures, except that the last security-admin not locked is
// never locked (someone must always be able to get in). Updates `directory`; the caller persists
// it.
[[nodiscard]] LoginResult Login(schema::UserDirectory& directory, const std::string& name,
                                const std::string& password, int64_t now,
                                const PasswordPolicy& policy);

// Login() in two halves, so that the slow PBKDF2 in between can run without holding
// the lock that guards `directory`:
//   1. LoginTarget: the stored hash to compare against, or why there is none to try
//      (kUnknownUser, kLocked);
//   2. Matches(hash, password), unlocked;
//   3. RecordAttempt: counts the result and locks out as Login() does.
[[nodiscard]] std::expected<schema::PasswordHash, LoginResult> LoginTarget(
    const schema::UserDirectory& directory, const std::string& name, int64_t now);
LoginResult RecordAttempt(schema::UserDirectory& directory, const std::string& name,
                          bool password_matched, int64_t now, const PasswordPolicy& policy);

}  // namespace sbc::mgmt::users
