#include "sbc/mgmt/service/control_service.h"

#include "boot_events.h"
#include "rpc/service_state.h"
#include "sbc/mgmt/service/rpc_registry.h"
#include "sbc/mgmt/users/directory.h"

namespace sbc::mgmt::service {
namespace {

std::vector<schema::Role> RolesOf(const schema::User* user) {
  std::vector<schema::Role> roles;
  if (user != nullptr)
    for (int r : user->roles()) roles.push_back(static_cast<schema::Role>(r));
  return roles;
}

// Why `user` may not call `rpc`, whose row is `row` (a request naming no RPC calls
// nothing).
std::string DeniedCall(const std::string& user, schema::Rpc rpc, const RpcRow* row) {
  if (rpc == schema::RPC_UNSPECIFIED) return "the request names no RPC";
  if (row == nullptr) return schema::Rpc_Name(rpc) + " is not served by this appliance";
  return "role(s) of \"" + user + "\" may not call " + schema::Rpc_Name(rpc);
}

}  // namespace

ControlService::ControlService(schema::UserDirectory users, store::ConfigStore& store,
                               audit::AuditLog& audit, std::string audit_dir,
                               const base::Clock& clock)
    : state_(std::make_unique<ServiceState>(std::move(users), store, audit, std::move(audit_dir),
                                            clock)) {}

ControlService::~ControlService() = default;

schema::Response ControlService::Handle(const Caller& caller, const schema::Request& request) {
  ServiceState& state = *state_;
  std::unique_lock lock(state.mutex);
  const std::string& user = caller.name;
  const schema::Rpc rpc = RpcOf(request);
  // A certificate names a user, and holds a key: only a key bound to that user counts
  // (so a certificate outlives neither its user's removal nor its key's revocation).
  const schema::User* known = caller.console
                                  ? FindUser(state.users, user)
                                  : users::Authenticate(state.users, user, caller.key_id);
  // Copied now: a handler that runs without the lock may see the directory change.
  const std::vector<schema::Role> roles = RolesOf(known);

  std::string detail;
  schema::Response response;
  const RpcRow* row = FindRpc(rpc);
  if (known == nullptr && !caller.console && FindUser(state.users, user) != nullptr) {
    response = Result(schema::DENIED, "the certificate's key is not bound to user \"" + user +
                                          "\" (revoked, or from before the user was added again)");
  } else if (known == nullptr) {
    response = Result(schema::DENIED, "user \"" + user + "\" is not in the user directory");
  } else if (row == nullptr || !Allows(*row, roles)) {
    response = Result(schema::DENIED, DeniedCall(user, rpc, row));
  } else if (row->locking == Locking::kWaitsOnADaemon) {
    // The dataplane may take up to its timeout to answer; every other call goes on
    // meanwhile. The handler locks around the state it touches.
    lock.unlock();
    response = row->handle(state, request, &detail);
    lock.lock();
  } else {
    response = row->handle(state, request, &detail);
  }
  if (detail.empty())
    detail = response.outcome() == schema::OK && row != nullptr ? row->audit : response.error();
  response.set_user(user);
  response.set_clock_unix_ms(state.clock.NowUnixMs());
  if (auto ok = AuditAction(state, user, roles, rpc, response.outcome(), detail); !ok) {
    // An action that cannot be audited is not reported as done.
    return Result(schema::FAILED, "audit log: " + ok.error());
  }
  return response;
}

schema::Response ControlService::ConsoleLogin(const std::string& user,
                                              const std::string& password) {
  ServiceState& state = *state_;
  std::unique_lock lock(state.mutex);
  int64_t now = state.clock.NowUnixMs() / 1000;
  auto target = users::LoginTarget(state.users, user, now);
  users::LoginResult result;
  if (target) {
    lock.unlock();  // 600,000 PBKDF2 iterations must not stall the API
    const bool matched = users::Matches(*target, password);
    lock.lock();
    now = state.clock.NowUnixMs() / 1000;
    result = users::RecordAttempt(state.users, user, matched, now, PasswordPolicyOf(state));
    // Failure counts and lockouts survive a restart; a login that cannot be recorded
    // does not count as a login.
    if (state.save_users) {
      if (auto saved = state.save_users(state.users); !saved && result == users::LoginResult::kOk)
        return Result(schema::FAILED, "users file: " + saved.error());
    }
  } else {
    // As long as a real check: the time a login takes says nothing of whether the name
    // exists or is locked.
    lock.unlock();
    (void)users::Matches(users::DecoyHash(), password);
    lock.lock();
    result = target.error();
  }

  const schema::User* known = FindUser(state.users, user);
  const std::vector<schema::Role> roles =
      result == users::LoginResult::kUnknownUser ? std::vector<schema::Role>{} : RolesOf(known);
  schema::Response response;
  std::string detail;
  switch (result) {
    case users::LoginResult::kOk:
      response = Result(schema::OK);
      detail = "console login";
      break;
    case users::LoginResult::kWrongPassword:
      response = Result(schema::DENIED, "wrong user name or password");
      detail = "console login: wrong password";
      if (known != nullptr && known->locked_until_unix() > now)
        detail += "; locked out until " + clock::FormatUtc(known->locked_until_unix() * 1000);
      break;
    case users::LoginResult::kLocked:
      // Same answer as a wrong password: the console does not tell a guesser which
      // accounts exist or are locked. The audit log does.
      response = Result(schema::DENIED, "wrong user name or password");
      detail = "console login refused: locked out until " +
               clock::FormatUtc(known->locked_until_unix() * 1000);
      break;
    case users::LoginResult::kUnknownUser:
      response = Result(schema::DENIED, "wrong user name or password");
      detail = "console login: no such user, or no console password set";
      break;
  }
  // What was typed as a user name may be a password typed one field early: an unknown
  // name is not written to the log.
  const std::string logged_user =
      result == users::LoginResult::kUnknownUser && known == nullptr ? "(unknown user)" : user;
  if (auto ok =
          AuditAction(state, logged_user, roles, schema::CONSOLE_LOGIN, response.outcome(), detail);
      !ok)
    return Result(schema::FAILED, "audit log: " + ok.error());
  if (response.outcome() == schema::OK) {
    response.set_user(user);
    if (auto running = state.store.Running())
      response.set_login_banner(running->config().management().login_banner());
    response.set_clock_unix_ms(state.clock.NowUnixMs());
  }
  return response;
}

void ControlService::SetUserPersistence(SaveUsers save) {
  std::lock_guard lock(state_->mutex);
  state_->save_users = std::move(save);
}

void ControlService::AttachCertificateAuthority(pki::CertificateAuthority* ca) {
  std::lock_guard lock(state_->mutex);
  state_->ca = ca;
}

void ControlService::AttachDataplane(DataplaneLink* link) {
  std::lock_guard lock(state_->mutex);
  state_->dataplane = link;
}

void ControlService::AttachClock(clock::SettableClock* clock) {
  std::lock_guard lock(state_->mutex);
  state_->settable_clock = clock;
}

void ControlService::AttachKeyRotation(const std::string& key_name, RotateKey rotate) {
  std::lock_guard lock(state_->mutex);
  state_->key_rotations[key_name] = std::move(rotate);
}

void ControlService::AttachFirmware(BootLink* boot, std::filesystem::path upload_dir,
                                    std::filesystem::path boot_events_audited) {
  std::lock_guard lock(state_->mutex);
  state_->boot = boot;
  state_->upload_dir = std::move(upload_dir);
  state_->boot_events_file = std::move(boot_events_audited);
  state_->boot_events_audited.reset();
}

void ControlService::Tick() {
  ServiceState& state = *state_;
  AuditBootEvents(state);
  DataplaneLink* dataplane;
  uint64_t running;
  {
    std::lock_guard lock(state.mutex);
    dataplane = state.dataplane;
    running = state.store.running_version();
  }
  // The dataplane restarted, or missed a change: hand it the running bundle again.
  if (dataplane != nullptr && running != 0) {
    schema::DataplaneRequest probe;
    probe.set_get_counters(true);
    auto answer = dataplane->Call(probe);
    if (answer && answer->rules_version() != running) (void)SyncDataplane(state);
  }
  std::optional<std::string> ended;
  {
    std::lock_guard lock(state.mutex);
    if (!state.store.state().has_pending()) return;
    ended = state.store.Tick();
  }
  if (!ended) return;
  const std::string not_applied = SyncDataplane(state);
  std::lock_guard lock(state.mutex);
  // The revert stands even if the log is failing.
  (void)AuditAction(
      state, "sbc-mgmtd", {}, schema::CONFIG_ROLLBACK, schema::OK,
      *ended + (not_applied.empty() ? "" : "; not yet in the dataplane: " + not_applied));
}

std::string ControlService::HandleFrame(const Caller& caller, const std::string& frame) {
  schema::Request request;
  schema::Response response;
  if (!request.ParseFromString(frame))
    response = Result(schema::REFUSED, "not a control API request");
  else
    response = Handle(caller, request);
  return response.SerializeAsString();
}

}  // namespace sbc::mgmt::service
