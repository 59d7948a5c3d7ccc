// Who may use the control API: users, their roles, their certificates (approved by
// the appliance's CA, each binding its key to the user) and console passwords. Every
// change is saved through the key store's users file before it takes effect.
#include "sbc/mgmt/users/directory.h"
#include "sbc/mgmt/users/passwords.h"
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

constexpr uint32_t kSecurityAdmin = RoleBit(schema::SECURITY_ADMIN);
constexpr char kNotEnabled[] = "user changes are not enabled on this appliance";

// Saves `next` and makes it the directory; the reply if that failed.
std::optional<schema::Response> Save(ServiceState& state, schema::UserDirectory next) {
  if (auto saved = state.save_users(next); !saved)
    return Result(schema::FAILED, "users file: " + saved.error());
  state.users = std::move(next);
  return std::nullopt;
}

// Applies `change` to a copy of the directory and saves the copy as the directory;
// the reply if the change was refused or could not be saved.
template <typename Change>
std::optional<schema::Response> ChangeAndSave(ServiceState& state, Change change) {
  if (!state.save_users) return Result(schema::FAILED, kNotEnabled);
  schema::UserDirectory next = state.users;
  if (std::expected<void, std::string> ok = change(next); !ok)
    return Result(schema::REFUSED, ok.error());
  return Save(state, std::move(next));
}

std::string Described(const schema::UserDirectory& users, const std::string& name) {
  for (const auto& u : users.users())
    if (u.name() == name) return users::Describe(u);
  return "";
}

std::vector<schema::Role> RolesOf(const schema::UserRoles& args) {
  std::vector<schema::Role> roles;
  for (int r : args.roles()) roles.push_back(static_cast<schema::Role>(r));
  return roles;
}

schema::Response List(ServiceState& state, std::string*) {
  schema::Response r = Result(schema::OK);
  for (const auto& u : state.users.users()) {  // names and roles only, never password hashes
    schema::User* out = r.add_users();
    out->set_name(u.name());
    *out->mutable_roles() = u.roles();
    out->set_disabled(u.disabled());
    out->set_password_set(u.has_password());
    out->set_locked_until_unix(u.locked_until_unix());
    *out->mutable_keys() = u.keys();  // fingerprints: public
  }
  return r;
}

schema::Response Add(ServiceState& state, const schema::UserRoles& args, std::string* detail) {
  if (auto failed = ChangeAndSave(state, [&](schema::UserDirectory& next) {
        return users::AddUser(next, args.name(), RolesOf(args));
      }))
    return *failed;
  *detail = "added user " + Described(state.users, args.name());
  return Result(schema::OK);
}

schema::Response Remove(ServiceState& state, const schema::UserName& args, std::string* detail) {
  const std::string before = Described(state.users, args.name());
  if (auto failed = ChangeAndSave(
          state, [&](schema::UserDirectory& next) { return users::RemoveUser(next, args.name()); }))
    return *failed;
  *detail = "removed user " + before;
  return Result(schema::OK);
}

schema::Response SetRoles(ServiceState& state, const schema::UserRoles& args, std::string* detail) {
  const std::string before = Described(state.users, args.name());
  if (auto failed = ChangeAndSave(state, [&](schema::UserDirectory& next) {
        return users::SetRoles(next, args.name(), RolesOf(args));
      }))
    return *failed;
  *detail = "roles of " + before + " -> " + Described(state.users, args.name());
  return Result(schema::OK);
}

schema::Response SetPassword(ServiceState& state, const schema::UserPassword& args,
                             std::string* detail) {
  if (!state.save_users) return Result(schema::FAILED, kNotEnabled);
  schema::UserDirectory next = state.users;
  schema::User* user = nullptr;
  for (auto& u : *next.mutable_users())
    if (u.name() == args.name()) user = &u;
  if (user == nullptr) return Result(schema::REFUSED, "no user \"" + args.name() + "\"");
  if (auto ok = users::CheckPolicy(user->name(), args.password(), PasswordPolicyOf(state)); !ok)
    return Result(schema::REFUSED, "password policy: " + ok.error());
  // One PBKDF2 under the lock (about a third of a second): password changes are rare.
  auto hash = users::HashPassword(args.password());
  if (!hash) return Result(schema::FAILED, hash.error());
  *user->mutable_password() = std::move(*hash);
  user->set_failed_logins(0);
  user->set_locked_until_unix(0);  // a new password also lifts a lockout
  if (auto failed = Save(state, std::move(next))) return *failed;
  *detail = "set the console password of " + args.name();
  return Result(schema::OK);
}

schema::Response ApproveCertificate(ServiceState& state, const schema::CertApprove& args,
                                    std::string* detail) {
  if (state.ca == nullptr) return Result(schema::FAILED, "this appliance has no management CA key");
  // Only for an existing, enabled user: approval grants a certificate, never roles.
  if (FindUser(state.users, args.name()) == nullptr)
    return Result(schema::REFUSED, "no enabled user \"" + args.name() + "\"; add the user first");
  auto cert = state.ca->SignRequest(args.csr_pem(), args.name());
  if (!cert) return Result(schema::REFUSED, cert.error());
  auto key = pki::KeyId(*cert);
  if (!key) return Result(schema::FAILED, key.error());
  // The new certificate's key is bound to the user: it, and no other, logs in as them.
  if (auto failed = ChangeAndSave(state, [&](schema::UserDirectory& next) {
        return users::BindKey(next, args.name(), *key);
      }))
    return *failed;
  *detail = "issued a certificate for " + args.name() + " (key " + key->substr(0, 23) + ")";
  schema::Response r = Result(schema::OK);
  r.set_certificate_pem(*cert);
  return r;
}

// The console socket takes logins itself (ControlService::ConsoleLogin); this row holds
// who may log in there, and refuses the RPC over the API.
schema::Response ConsoleLoginOverTheApi(ServiceState&, std::string*) {
  return Result(schema::REFUSED,
                "CONSOLE_LOGIN is taken on the console socket only; the API authenticates by "
                "certificate");
}

constexpr RpcRow kRows[] = {
    {schema::USER_LIST, RoleBit(schema::AUDITOR) | kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::user_list, List>, "listed the users"},
    {schema::USER_ADD, kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::user_add, Add>, "added a user"},
    {schema::USER_REMOVE, kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::user_remove, Remove>, "removed a user"},
    {schema::USER_SET_ROLES, kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::user_set_roles, SetRoles>, "changed a user's roles"},
    {schema::USER_SET_PASSWORD, kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::user_set_password, SetPassword>, "set a user's console password"},
    {schema::CERT_APPROVE, kSecurityAdmin, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::cert_approve, ApproveCertificate>, "issued a certificate"},
    // Password-gated, not role-gated: anyone with a console password may log in there.
    {schema::CONSOLE_LOGIN, kEveryRole, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::console_login, ConsoleLoginOverTheApi>, "console login"},
};

}  // namespace

users::PasswordPolicy PasswordPolicyOf(const ServiceState& state) {
  auto running = state.store.Running();
  return users::PolicyFrom(running ? running->config().management().password_policy()
                                   : schema::PasswordPolicy{});
}

std::span<const RpcRow> UserRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
