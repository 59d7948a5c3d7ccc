#include "sbc/mgmt/users/directory.h"

#include <algorithm>
#include <regex>

namespace sbc::mgmt::users {
namespace {

bool IsSecurityAdmin(const schema::User& u) {
  return !u.disabled() &&
         std::find(u.roles().begin(), u.roles().end(), schema::SECURITY_ADMIN) != u.roles().end();
}

int SecurityAdmins(const schema::UserDirectory& d) {
  return static_cast<int>(std::count_if(d.users().begin(), d.users().end(), IsSecurityAdmin));
}

int Find(const schema::UserDirectory& d, const std::string& name) {
  for (int i = 0; i < d.users_size(); ++i)
    if (d.users(i).name() == name) return i;
  return -1;
}

std::expected<void, std::string> CheckRoles(const std::vector<schema::Role>& roles) {
  if (roles.empty()) return std::unexpected(std::string("a user needs at least one role"));
  for (schema::Role r : roles)
    if (r == schema::ROLE_UNSPECIFIED || !schema::Role_IsValid(r))
      return std::unexpected(std::string("unknown role"));
  return {};
}

}  // namespace

std::expected<void, std::string> AddUser(schema::UserDirectory& d, const std::string& name,
                                         const std::vector<schema::Role>& roles) {
  static const std::regex kName("[a-z][a-z0-9._-]{0,62}");
  if (!std::regex_match(name, kName))
    return std::unexpected("\"" + name + "\" is not a user name ([a-z][a-z0-9._-]{0,62})");
  if (name.starts_with(kReservedPrefix))
    return std::unexpected(
        "\"" + name + "\" is reserved: names beginning " + std::string(kReservedPrefix) +
        " are the appliance's own (its server certificate, its daemons in the audit log)");
  if (Find(d, name) >= 0) return std::unexpected("user \"" + name + "\" exists");
  if (auto ok = CheckRoles(roles); !ok) return ok;
  schema::User* u = d.add_users();
  u->set_name(name);
  for (schema::Role r : roles) u->add_roles(r);
  return {};
}

std::expected<void, std::string> RemoveUser(schema::UserDirectory& d, const std::string& name) {
  const int i = Find(d, name);
  if (i < 0) return std::unexpected("no user \"" + name + "\"");
  if (IsSecurityAdmin(d.users(i)) && SecurityAdmins(d) <= 1)
    return std::unexpected("\"" + name + "\" is the last security-admin; add another first");
  // Its certificates die with it, whatever name comes back later.
  for (const std::string& key : d.users(i).keys()) d.add_revoked_keys(key);
  d.mutable_users()->DeleteSubrange(i, 1);
  return {};
}

std::expected<void, std::string> BindKey(schema::UserDirectory& d, const std::string& name,
                                         const std::string& key) {
  const int i = Find(d, name);
  if (i < 0) return std::unexpected("no user \"" + name + "\"");
  if (std::find(d.revoked_keys().begin(), d.revoked_keys().end(), key) != d.revoked_keys().end())
    return std::unexpected("that key was revoked; make a new one");
  for (const schema::User& u : d.users())
    if (std::find(u.keys().begin(), u.keys().end(), key) != u.keys().end())
      return u.name() == name ? std::expected<void, std::string>{}
                              : std::unexpected("that key is bound to user \"" + u.name() + "\"");
  d.mutable_users(i)->add_keys(key);
  return {};
}

const schema::User* Authenticate(const schema::UserDirectory& d, const std::string& name,
                                 const std::string& key) {
  if (std::find(d.revoked_keys().begin(), d.revoked_keys().end(), key) != d.revoked_keys().end())
    return nullptr;
  const int i = Find(d, name);
  if (i < 0 || d.users(i).disabled()) return nullptr;
  const auto& keys = d.users(i).keys();
  return std::find(keys.begin(), keys.end(), key) != keys.end() ? &d.users(i) : nullptr;
}

std::expected<void, std::string> SetRoles(schema::UserDirectory& d, const std::string& name,
                                          const std::vector<schema::Role>& roles) {
  const int i = Find(d, name);
  if (i < 0) return std::unexpected("no user \"" + name + "\"");
  if (auto ok = CheckRoles(roles); !ok) return ok;
  const bool keeps_admin =
      std::find(roles.begin(), roles.end(), schema::SECURITY_ADMIN) != roles.end();
  if (IsSecurityAdmin(d.users(i)) && !keeps_admin && SecurityAdmins(d) <= 1)
    return std::unexpected("\"" + name + "\" is the last security-admin; add another first");
  schema::User* u = d.mutable_users(i);
  u->clear_roles();
  for (schema::Role r : roles) u->add_roles(r);
  return {};
}

std::string Describe(const schema::User& user) {
  std::string out = user.name() + " (";
  for (int i = 0; i < user.roles_size(); ++i)
    out += (i ? ", " : "") + schema::Role_Name(static_cast<schema::Role>(user.roles(i)));
  return out + ")";
}

}  // namespace sbc::mgmt::users
