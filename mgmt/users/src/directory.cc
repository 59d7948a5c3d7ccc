#include "sbc/mgmt/users/directory.h"

#include <algorithm>
#include <regex>

namespace sbc::mgmt::users {
namespace {

bool IsSecurityAdmin(const schema::User& u) {
  return !u.disabled() && std::find(u.roles().begin(), u.roles().end(), schema::SECURITY_ADMIN) != u.roles().end();
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
    if (r == schema::ROLE_UNSPECIFIED || !schema::Role_IsValid(r)) return std::unexpected(std::string("unknown role"));
  return {};
}

}  // namespace

std::expected<void, std::string> AddUser(schema::UserDirectory& d, const std::string& name,
                                         const std::vector<schema::Role>& roles) {
  static const std::regex kName("[a-z][a-z0-9._-]{0,62}");
  if (!std::regex_match(name, kName)) return std::unexpected("\"" + name + "\" is not a user name ([a-z][a-z0-9._-]{0,62})");
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
  d.mutable_users()->DeleteSubrange(i, 1);
  return {};
}

std::expected<void, std::string> SetRoles(schema::UserDirectory& d, const std::string& name,
                                          const std::vector<schema::Role>& roles) {
  const int i = Find(d, name);
  if (i < 0) return std::unexpected("no user \"" + name + "\"");
  if (auto ok = CheckRoles(roles); !ok) return ok;
  const bool keeps_admin = std::find(roles.begin(), roles.end(), schema::SECURITY_ADMIN) != roles.end();
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
