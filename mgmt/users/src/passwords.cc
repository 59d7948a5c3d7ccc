#include "sbc/mgmt/users/passwords.h"

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include <algorithm>
#include <atomic>
#include <cctype>

#include "sbc/mgmt/base/drbg.h"
#include "sbc/mgmt/base/mbedtls_error.h"

namespace sbc::mgmt::users {
namespace {

constexpr size_t kSaltBytes = 16, kHashBytes = 32;

std::atomic<uint64_t> g_derivations{0};

std::expected<std::string, std::string> Derive(const std::string& password, const std::string& salt,
                                               uint32_t iterations) {
  g_derivations.fetch_add(1, std::memory_order_relaxed);
  mbedtls_md_context_t md;
  mbedtls_md_init(&md);
  unsigned char out[kHashBytes];
  int ret = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
  if (ret == 0)
    ret = mbedtls_pkcs5_pbkdf2_hmac(&md, reinterpret_cast<const unsigned char*>(password.data()),
                                    password.size(),
                                    reinterpret_cast<const unsigned char*>(salt.data()),
                                    salt.size(), iterations, kHashBytes, out);
  mbedtls_md_free(&md);
  if (ret != 0) return std::unexpected(std::string("PBKDF2 failed"));
  return std::string(reinterpret_cast<char*>(out), kHashBytes);
}

bool IsActiveSecurityAdmin(const schema::User& u, int64_t now) {
  return !u.disabled() && u.locked_until_unix() <= now && u.has_password() &&
         std::find(u.roles().begin(), u.roles().end(), schema::SECURITY_ADMIN) != u.roles().end();
}

}  // namespace

std::expected<void, std::string> CheckPolicy(const std::string& user, const std::string& password,
                                             const PasswordPolicy& policy) {
  if (password.size() < policy.min_length)
    return std::unexpected("password shorter than " + std::to_string(policy.min_length) +
                           " characters");
  std::string lower_password = password, lower_user = user;
  std::transform(lower_password.begin(), lower_password.end(), lower_password.begin(), ::tolower);
  std::transform(lower_user.begin(), lower_user.end(), lower_user.begin(), ::tolower);
  if (!lower_user.empty() && lower_password.find(lower_user) != std::string::npos)
    return std::unexpected(std::string("password contains the user name"));
  int classes = 0;
  classes += std::any_of(password.begin(), password.end(), ::islower);
  classes += std::any_of(password.begin(), password.end(), ::isupper);
  classes += std::any_of(password.begin(), password.end(), ::isdigit);
  classes += std::any_of(password.begin(), password.end(),
                         [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); });
  if (classes < policy.min_character_classes)
    return std::unexpected("password mixes " + std::to_string(classes) +
                           " kinds of characters, at least " +
                           std::to_string(policy.min_character_classes) + " are required");
  return {};
}

std::expected<schema::PasswordHash, std::string> HashPassword(const std::string& password,
                                                              uint32_t iterations) {
  if (iterations < kPbkdf2Iterations)
    return std::unexpected("at least " + std::to_string(kPbkdf2Iterations) +
                           " PBKDF2 iterations are required");
  unsigned char salt[kSaltBytes];
  base::Drbg drbg("sbc-password-salt");
  const int ret =
      drbg.ok() ? base::Drbg::Draw(drbg.context(), salt, sizeof(salt)) : drbg.seed_result();
  if (ret != 0) return std::unexpected("cannot draw a salt: " + base::MbedtlsError(ret));
  schema::PasswordHash h;
  h.set_salt(std::string(reinterpret_cast<char*>(salt), kSaltBytes));
  h.set_iterations(iterations);
  auto derived = Derive(password, h.salt(), iterations);
  if (!derived) return std::unexpected(derived.error());
  h.set_hash(*derived);
  return h;
}

uint64_t Derivations() { return g_derivations.load(std::memory_order_relaxed); }

const schema::PasswordHash& DecoyHash() {
  // Checked against, and never matched, when there is no real hash to try: the login
  // then costs what a real one does. No password derives an all-zero hash but by
  // breaking SHA-256.
  static const schema::PasswordHash decoy = [] {
    schema::PasswordHash h;
    h.set_salt(std::string(kSaltBytes, '\0'));
    h.set_iterations(kPbkdf2Iterations);
    h.set_hash(std::string(kHashBytes, '\0'));
    return h;
  }();
  return decoy;
}

bool Matches(const schema::PasswordHash& stored, const std::string& password) {
  if (stored.iterations() < kPbkdf2Iterations || stored.hash().size() != kHashBytes) return false;
  auto derived = Derive(password, stored.salt(), stored.iterations());
  if (!derived) return false;
  unsigned char diff = 0;  // constant time: no early exit on the first differing byte
  for (size_t i = 0; i < kHashBytes; ++i)
    diff |= static_cast<unsigned char>((*derived)[i] ^ stored.hash()[i]);
  return diff == 0;
}

PasswordPolicy PolicyFrom(const schema::PasswordPolicy& configured) {
  PasswordPolicy policy;
  if (configured.min_length()) policy.min_length = configured.min_length();
  if (configured.min_character_classes())
    policy.min_character_classes = static_cast<int>(configured.min_character_classes());
  if (configured.max_failed_logins()) policy.max_failures = configured.max_failed_logins();
  if (configured.lockout_s()) policy.lockout_s = configured.lockout_s();
  return policy;
}

std::expected<schema::PasswordHash, LoginResult> LoginTarget(const schema::UserDirectory& directory,
                                                             const std::string& name, int64_t now) {
  for (const auto& u : directory.users()) {
    if (u.name() != name) continue;
    if (u.disabled() || !u.has_password()) break;
    if (u.locked_until_unix() > now) return std::unexpected(LoginResult::kLocked);
    return u.password();
  }
  return std::unexpected(LoginResult::kUnknownUser);
}

LoginResult RecordAttempt(schema::UserDirectory& directory, const std::string& name,
                          bool password_matched, int64_t now, const PasswordPolicy& policy) {
  schema::User* user = nullptr;
  for (auto& u : *directory.mutable_users())
    if (u.name() == name) user = &u;
  if (user == nullptr || user->disabled() || !user->has_password())
    return LoginResult::kUnknownUser;
  if (password_matched) {
    user->set_failed_logins(0);
    return LoginResult::kOk;
  }
  user->set_failed_logins(user->failed_logins() + 1);
  if (user->failed_logins() >= policy.max_failures) {
    const bool security_admin = IsActiveSecurityAdmin(*user, now);
    const int active_admins = static_cast<int>(
        std::count_if(directory.users().begin(), directory.users().end(),
                      [&](const schema::User& u) { return IsActiveSecurityAdmin(u, now); }));
    if (!(security_admin && active_admins <= 1)) {
      user->set_locked_until_unix(now + policy.lockout_s);
      user->set_failed_logins(0);
    } else {
      // The last security-admin who can still log in is never locked out for the
      // policy's whole lockout, or nobody could administer the appliance; but every
      // failure past the limit doubles the wait before the next try (1 s, 2 s, 4 s, ...
      // up to the lockout), so guessing at that account is slow too.
      const uint32_t over = std::min<uint32_t>(user->failed_logins() - policy.max_failures, 30);
      const int64_t wait = std::min<int64_t>(int64_t{1} << over, policy.lockout_s);
      user->set_locked_until_unix(now + wait);
    }
  }
  return LoginResult::kWrongPassword;
}

LoginResult Login(schema::UserDirectory& directory, const std::string& name,
                  const std::string& password, int64_t now, const PasswordPolicy& policy) {
  auto target = LoginTarget(directory, name, now);
  if (!target) return target.error();
  return RecordAttempt(directory, name, Matches(*target, password), now, policy);
}

}  // namespace sbc::mgmt::users
