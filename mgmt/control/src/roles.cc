#include "sbc/mgmt/control/roles.h"

#include <algorithm>
#include <array>

namespace sbc::mgmt::control {
namespace {

using schema::Role;
using schema::Rpc;

constexpr uint32_t Bit(Role r) { return 1u << r; }
constexpr uint32_t kViewer = Bit(schema::VIEWER), kOperator = Bit(schema::OPERATOR),
                   kSignaling = Bit(schema::SIGNALING), kAuditor = Bit(schema::AUDITOR),
                   kSecurityAdmin = Bit(schema::SECURITY_ADMIN);

struct Entry {
  Rpc rpc;
  uint32_t roles;  // Bit() of each role allowed
};

// The authorisation table. Personal data (media sessions hold phone numbers and
// addresses; the audit log and user list name people) goes only to roles that need it.
constexpr std::array kTable = {
    Entry{schema::STATUS, kViewer | kOperator | kSignaling | kAuditor | kSecurityAdmin},
    Entry{schema::COUNTERS, kViewer | kOperator | kAuditor | kSecurityAdmin},
    Entry{schema::CONFIG_SHOW, kOperator | kAuditor | kSecurityAdmin},
    Entry{schema::CONFIG_HISTORY, kOperator | kAuditor | kSecurityAdmin},
    Entry{schema::CONFIG_DIFF, kOperator | kAuditor | kSecurityAdmin},
    Entry{schema::CONFIG_PUSH, kOperator},
    Entry{schema::CONFIG_CONFIRM, kOperator},
    Entry{schema::CONFIG_ROLLBACK, kOperator},
    Entry{schema::MEDIA_SESSION_CREATE, kSignaling},
    Entry{schema::MEDIA_SESSION_UPDATE, kSignaling},
    Entry{schema::MEDIA_SESSION_DELETE, kSignaling},
    Entry{schema::MEDIA_SESSION_LIST, kSignaling},
    Entry{schema::AUDIT_READ, kAuditor},
    Entry{schema::AUDIT_VERIFY, kAuditor | kSecurityAdmin},
    Entry{schema::PROCESSING_REGISTER, kAuditor | kSecurityAdmin},
    Entry{schema::USER_LIST, kAuditor | kSecurityAdmin},
    Entry{schema::USER_ADD, kSecurityAdmin},
    Entry{schema::USER_REMOVE, kSecurityAdmin},
    Entry{schema::USER_SET_ROLES, kSecurityAdmin},
    Entry{schema::CERT_APPROVE, kSecurityAdmin},
    Entry{schema::KEY_ROTATE, kSecurityAdmin},
    Entry{schema::FIRMWARE_UPDATE, kSecurityAdmin},
    Entry{schema::SUBJECT_EXPORT, kSecurityAdmin},
    Entry{schema::SUBJECT_ERASE, kSecurityAdmin},
    Entry{schema::CLOCK_SET, kSecurityAdmin},
    Entry{schema::USER_SET_PASSWORD, kSecurityAdmin},
    // Password-gated, not role-gated: anyone with a console password may log in there.
    Entry{schema::CONSOLE_LOGIN, kViewer | kOperator | kSignaling | kAuditor | kSecurityAdmin},
};

uint32_t MaskFor(Rpc rpc) {
  for (const Entry& e : kTable)
    if (e.rpc == rpc) return e.roles;
  return 0;
}

}  // namespace

std::vector<Role> RolesFor(Rpc rpc) {
  std::vector<Role> roles;
  const uint32_t mask = MaskFor(rpc);
  for (int r = schema::Role_MIN; r <= schema::Role_MAX; ++r)
    if (r != schema::ROLE_UNSPECIFIED && (mask & Bit(static_cast<Role>(r))))
      roles.push_back(static_cast<Role>(r));
  return roles;
}

bool Allowed(Rpc rpc, std::span<const Role> roles) {
  const uint32_t mask = MaskFor(rpc);
  return std::any_of(roles.begin(), roles.end(),
                     [&](Role r) { return r != schema::ROLE_UNSPECIFIED && (mask & Bit(r)) != 0; });
}

}  // namespace sbc::mgmt::control
