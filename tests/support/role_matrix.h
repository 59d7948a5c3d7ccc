// What each role may call, written from the roles' descriptions in DESIGN.md (not
// copied from mgmt/service's registry), so tests compare two independent statements.
// It names RPCs not served yet too: what their roles will be is decided here, now.
#pragma once

#include <map>
#include <set>

#include "sbc/schema/control.pb.h"

namespace sbc::testing {

inline const std::map<schema::Role, std::set<schema::Rpc>>& ExpectedRoleMatrix() {
  using namespace schema;
  static const std::map<Role, std::set<Rpc>> kMatrix = {
      // CONSOLE_LOGIN: every role may log in on the console with a password (over TLS
      // it is refused, not denied).
      {VIEWER, {STATUS, COUNTERS, CONSOLE_LOGIN}},
      {OPERATOR,
       {STATUS, COUNTERS, CONFIG_SHOW, CONFIG_HISTORY, CONFIG_DIFF, CONFIG_PUSH, CONFIG_CONFIRM,
        CONFIG_ROLLBACK, CONSOLE_LOGIN}},
      {SIGNALING,
       {STATUS, MEDIA_SESSION_CREATE, MEDIA_SESSION_UPDATE, MEDIA_SESSION_DELETE,
        MEDIA_SESSION_LIST, CONSOLE_LOGIN}},
      // Auditors read the firmware's state and run its integrity check; only security
      // admins change what runs.
      {AUDITOR,
       {STATUS, COUNTERS, CONFIG_SHOW, CONFIG_HISTORY, CONFIG_DIFF, AUDIT_READ, AUDIT_VERIFY,
        PROCESSING_REGISTER, USER_LIST, FIRMWARE_STATUS, FIRMWARE_VERIFY, CONSOLE_LOGIN}},
      {SECURITY_ADMIN, {STATUS,          COUNTERS,        CONFIG_SHOW,         CONFIG_HISTORY,
                        CONFIG_DIFF,     AUDIT_VERIFY,    PROCESSING_REGISTER, USER_LIST,
                        USER_ADD,        USER_REMOVE,     USER_SET_ROLES,      CERT_APPROVE,
                        KEY_ROTATE,      FIRMWARE_STATUS, FIRMWARE_UPLOAD,     FIRMWARE_ACTIVATE,
                        FIRMWARE_COMMIT, FIRMWARE_REVERT, FIRMWARE_VERIFY,     SUBJECT_EXPORT,
                        SUBJECT_ERASE,   CLOCK_SET,       USER_SET_PASSWORD,   CONSOLE_LOGIN}},
  };
  return kMatrix;
}

}  // namespace sbc::testing
