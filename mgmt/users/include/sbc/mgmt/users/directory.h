// Changes to the user directory made through the control API, each checked so that
// the appliance always keeps at least one enabled security-admin.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::users {

// Names the appliance gives itself ("sbc-appliance", its server certificate's;
// "sbc-mgmtd" in the audit log): no user may take one.
inline constexpr std::string_view kReservedPrefix = "sbc-";

// Adds `name` with `roles` (a certificate CN: [a-z][a-z0-9._-]{0,62}, not beginning
// kReservedPrefix). The user has no key yet: no certificate logs in as it until one is
// bound (BindKey).
[[nodiscard]] std::expected<void, std::string> AddUser(schema::UserDirectory& d,
                                                       const std::string& name,
                                                       const std::vector<schema::Role>& roles);
// Removes `name`, revoking its keys; refused for the last enabled security-admin.
[[nodiscard]] std::expected<void, std::string> RemoveUser(schema::UserDirectory& d,
                                                          const std::string& name);
// Binds the public key `key` (pki::KeyId) to `name`: certificates with it log in as
// that user. Refused for a revoked key or one bound to another user.
[[nodiscard]] std::expected<void, std::string> BindKey(schema::UserDirectory& d,
                                                       const std::string& name,
                                                       const std::string& key);
// The enabled user `name` if `key` is bound to it and not revoked, else nullptr.
[[nodiscard]] const schema::User* Authenticate(const schema::UserDirectory& d,
                                               const std::string& name, const std::string& key);
// Replaces `name`'s roles; refused if it would leave no enabled security-admin.
[[nodiscard]] std::expected<void, std::string> SetRoles(schema::UserDirectory& d,
                                                        const std::string& name,
                                                        const std::vector<schema::Role>& roles);
// "otto (OPERATOR, AUDITOR)", for audit entries.
[[nodiscard]] std::string Describe(const schema::User& user);

}  // namespace sbc::mgmt::users
