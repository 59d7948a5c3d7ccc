// Changes to the user directory made through the control API, each checked so that
// the appliance always keeps at least one enabled security-admin.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::users {

// Adds `name` with `roles` (a certificate CN: [a-z][a-z0-9._-]{0,62}).
[[nodiscard]] std::expected<void, std::string> AddUser(schema::UserDirectory& d, const std::string& name,
                                                       const std::vector<schema::Role>& roles);
// Removes `name`; refused for the last enabled security-admin.
[[nodiscard]] std::expected<void, std::string> RemoveUser(schema::UserDirectory& d, const std::string& name);
// Replaces `name`'s roles; refused if it would leave no enabled security-admin.
[[nodiscard]] std::expected<void, std::string> SetRoles(schema::UserDirectory& d, const std::string& name,
                                                        const std::vector<schema::Role>& roles);
// "otto (OPERATOR, AUDITOR)", for audit entries.
[[nodiscard]] std::string Describe(const schema::User& user);

}  // namespace sbc::mgmt::users
