// What the RPC handlers share: the service's state behind its lock, the replies they
// build alike, and the rows each feature file registers. Private to mgmt/service.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "sbc/mgmt/audit/audit_log.h"
#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/service/boot_link.h"
#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/service/dataplane_link.h"
#include "sbc/mgmt/service/rpc_registry.h"
#include "sbc/mgmt/store/config_store.h"
#include "sbc/mgmt/users/passwords.h"

namespace sbc::mgmt::service {

struct ServiceState {
  ServiceState(schema::UserDirectory directory, store::ConfigStore& config_store,
               audit::AuditLog& audit_log, std::string audit_directory, const base::Clock& time)
      : users(std::move(directory)),
        store(config_store),
        audit(audit_log),
        audit_dir(std::move(audit_directory)),
        clock(time) {}

  // Guards every field below (the store and the audit log are not thread-safe).
  std::mutex mutex;
  schema::UserDirectory users;
  store::ConfigStore& store;
  audit::AuditLog& audit;
  const std::string audit_dir;
  const base::Clock& clock;
  DataplaneLink* dataplane = nullptr;
  ControlService::SaveUsers save_users;
  pki::CertificateAuthority* ca = nullptr;
  clock::SettableClock* settable_clock = nullptr;
  std::map<std::string, ControlService::RotateKey> key_rotations;
  BootLink* boot = nullptr;          // sbc-boot, for the firmware RPCs
  std::filesystem::path upload_dir;  // where a firmware upload is staged
  // The last of sbc-boot's events audited (boot_events.h): on disk, and in memory once
  // read (nullopt: not read yet).
  std::filesystem::path boot_events_file;
  std::optional<uint64_t> boot_events_audited;

  // One bundle hand-over to the dataplane at a time, each sending the store's running
  // bundle as it is then, so the last one sent is the newest. Taken before `mutex`,
  // never while holding it.
  std::mutex sync_mutex;
  // One firmware upload step at a time (chunks append to one staged file; the last
  // one's install runs without `mutex`). Taken before `mutex`, never while holding it.
  std::mutex upload_mutex;
};

schema::Response Result(schema::Outcome outcome, std::string error = "");
// Appends an entry, stamped by the service's clock. Under the service's lock.
std::expected<void, std::string> AuditAction(ServiceState& state, const std::string& user,
                                             const std::vector<schema::Role>& roles,
                                             schema::Rpc rpc, schema::Outcome outcome,
                                             const std::string& detail);
schema::Response Refused(const store::TrustError& error);
// The enabled user named `name`, or nullptr. Under the service's lock.
const schema::User* FindUser(const schema::UserDirectory& users, const std::string& name);
// The running config's password policy (the defaults without a config). Under the lock.
users::PasswordPolicy PasswordPolicyOf(const ServiceState& state);
// Hands the store's running bundle to the dataplane; why it did not take it, or "".
// Takes the locks itself: call it holding neither.
std::string SyncDataplane(ServiceState& state);

// A row's handler from a function of the RPC's own arguments, `(state, args, detail)`,
// or of none, `(state, detail)`: `Field` is the Request accessor of those arguments.
template <auto Field, auto Handler>
schema::Response HandlerFor(ServiceState& state, const schema::Request& request,
                            std::string* detail) {
  if constexpr (std::is_invocable_v<decltype(Handler), ServiceState&, std::string*>)
    return Handler(state, detail);
  else
    return Handler(state, (request.*Field)(), detail);
}

// Each feature file's rows (src/rpc/<feature>.cc).
std::span<const RpcRow> StatusRpcs();
std::span<const RpcRow> ConfigRpcs();
std::span<const RpcRow> MediaRpcs();
std::span<const RpcRow> AuditRpcs();
std::span<const RpcRow> UserRpcs();
std::span<const RpcRow> ClockRpcs();
std::span<const RpcRow> KeyRpcs();
std::span<const RpcRow> FirmwareRpcs();

}  // namespace sbc::mgmt::service
