// One request in, one response out: who is calling (users directory), may they (the
// RPC's row in the registry, rpc_registry.h), do it (the row's handler), and record it
// in the audit log whatever the outcome. Thread-safe: connections call it concurrently;
// calls are serialised by the service's lock, except while one waits on the dataplane.
#pragma once

#include <expected>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "sbc/mgmt/audit/audit_log.h"
#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/service/boot_link.h"
#include "sbc/mgmt/service/dataplane_link.h"
#include "sbc/mgmt/store/config_store.h"
#include "sbc/mgmt/users/passwords.h"
#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::service {

// Who is calling: over TLS, the name the client certificate claims and its key (the
// user must have that key bound); on the console, a user the password login
// authenticated.
struct Caller {
  std::string name;
  std::string key_id;  // pki::KeyId of the certificate's key; empty on the console
  bool console = false;
};

struct ServiceState;  // the handlers' shared state (src/rpc/service_state.h)

class ControlService {
 public:
  // All referenced objects must outlive the service. `audit_dir` is the directory of
  // `audit` (AUDIT_READ/VERIFY re-read it from disk).
  ControlService(schema::UserDirectory users, store::ConfigStore& store, audit::AuditLog& audit,
                 std::string audit_dir, const base::Clock& clock);
  ~ControlService();
  ControlService(const ControlService&) = delete;
  ControlService& operator=(const ControlService&) = delete;

  [[nodiscard]] schema::Response Handle(const Caller& caller, const schema::Request& request);

  // A console break-glass login (the console socket's first frame): the user's
  // password against its stored PBKDF2 hash, failures counted and locked out by the
  // running config's password policy; audited as CONSOLE_LOGIN either way. OK means
  // the caller may go on with Handle() as `user`. The PBKDF2 runs outside the lock.
  [[nodiscard]] schema::Response ConsoleLogin(const std::string& user, const std::string& password);

  // Where user changes go (the key store's users file); without it USER_ADD,
  // USER_REMOVE and USER_SET_ROLES fail. Called under the service's lock.
  using SaveUsers = std::function<std::expected<void, std::string>(const schema::UserDirectory&)>;
  void SetUserPersistence(SaveUsers save);

  // The management CA that signs approved certificate requests (may be null: then
  // CERT_APPROVE fails). Must outlive the service.
  void AttachCertificateAuthority(pki::CertificateAuthority* ca);

  // The dataplane that runs what the store accepts (may be null: then COUNTERS fails
  // and pushes only reach the store). Must outlive the service.
  void AttachDataplane(DataplaneLink* link);

  // The clock CLOCK_SET sets (may be null: then CLOCK_SET fails). Must be the clock
  // the service was constructed with, or one it reads; must outlive the service.
  void AttachClock(clock::SettableClock* clock);

  // KEY_ROTATE of `key_name`: `rotate` replaces the key and returns what the audit
  // entry should say (old and new key fingerprints), or why it could not. Runs under
  // the service's lock.
  using RotateKey = std::function<std::expected<std::string, std::string>()>;
  void AttachKeyRotation(const std::string& key_name, RotateKey rotate);

  // sbc-boot, which does the firmware RPCs' work (may be null: then they fail), the
  // directory where an upload is staged until its last chunk (kept across restarts, so
  // an upload resumes), and the file that says which of sbc-boot's own events are
  // audited already. The link must outlive the service.
  void AttachFirmware(BootLink* boot, std::filesystem::path upload_dir,
                      std::filesystem::path boot_events_audited);

  // Audits the events sbc-boot recorded since the last call (crash loops, integrity
  // alarms, watchdog resets, ...: as user "sbc-boot", FIRMWARE_EVENT), reverts an
  // unconfirmed push whose deadline passed (audited as the daemon's own action), and
  // hands the running bundle to the dataplane if it runs another version (it
  // restarted, or missed a change). Call about once a second.
  void Tick();

  // Serialized Request in, serialized Response out (the TLS and console servers'
  // frame handlers).
  [[nodiscard]] std::string HandleFrame(const Caller& caller, const std::string& frame);

 private:
  std::unique_ptr<ServiceState> state_;
};

}  // namespace sbc::mgmt::service
