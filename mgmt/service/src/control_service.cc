#include "sbc/mgmt/service/control_service.h"

#include <google/protobuf/text_format.h>

#include <algorithm>

#include "sbc/mgmt/control/roles.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/users/directory.h"

namespace sbc::mgmt::service {
namespace {

schema::Response Result(schema::Outcome outcome, std::string error = "") {
  schema::Response r;
  r.set_outcome(outcome);
  r.set_error(std::move(error));
  return r;
}

schema::Response Refused(const store::TrustError& e) {
  return Result(schema::REFUSED, std::string(trust::RejectionName(e.reason)) + ": " + e.message);
}

const schema::User* Find(const schema::UserDirectory& users, const std::string& name) {
  for (const auto& u : users.users())
    if (u.name() == name && !u.disabled()) return &u;
  return nullptr;
}

}  // namespace

ControlService::ControlService(schema::UserDirectory users, store::ConfigStore& store,
                               audit::AuditLog& audit, std::string audit_dir,
                               const base::Clock& clock)
    : users_(std::move(users)),
      store_(store),
      audit_(audit),
      audit_dir_(std::move(audit_dir)),
      clock_(clock) {}

schema::Response ControlService::Handle(const Caller& caller, const schema::Request& request) {
  std::lock_guard lock(mutex_);
  const std::string& user = caller.name;
  // A certificate names a user, and holds a key: only a key bound to that user counts
  // (so a certificate outlives neither its user's removal nor its key's revocation).
  const schema::User* known =
      caller.console ? Find(users_, user) : users::Authenticate(users_, user, caller.key_id);
  std::vector<schema::Role> roles;
  if (known != nullptr)
    for (int r : known->roles()) roles.push_back(static_cast<schema::Role>(r));

  std::string detail;
  schema::Response response;
  if (known == nullptr && !caller.console && Find(users_, user) != nullptr)
    response = Result(schema::DENIED, "the certificate's key is not bound to user \"" + user +
                                          "\" (revoked, or from before the user was added again)");
  else if (known == nullptr)
    response = Result(schema::DENIED, "user \"" + user + "\" is not in the user directory");
  else if (!control::Allowed(request.rpc(), roles))
    response = Result(schema::DENIED, "role(s) of \"" + user + "\" may not call " +
                                          schema::Rpc_Name(request.rpc()));
  else
    response = Dispatch(request, &detail);
  response.set_user(user);
  response.set_clock_unix_ms(clock_.NowUnixMs());
  if (auto ok = Audit(user, roles, request.rpc(), response.outcome(),
                      detail.empty() ? response.error() : detail);
      !ok) {
    // An action that cannot be audited is not reported as done.
    return Result(schema::FAILED, "audit log: " + ok.error());
  }
  return response;
}

std::expected<void, std::string> ControlService::Audit(const std::string& user,
                                                       const std::vector<schema::Role>& roles,
                                                       schema::Rpc rpc, schema::Outcome outcome,
                                                       const std::string& detail) {
  schema::AuditEntry entry;
  entry.set_time_unix_ms(clock_.NowUnixMs());
  entry.set_user(user);
  for (schema::Role r : roles) entry.add_roles(r);
  entry.set_rpc(rpc);
  entry.set_outcome(outcome);
  entry.set_detail(detail);
  if (auto appended = audit_.Append(entry); !appended) return std::unexpected(appended.error());
  return {};
}

users::PasswordPolicy ControlService::Policy() const {
  auto running = store_.Running();
  return users::PolicyFrom(running ? running->config().management().password_policy()
                                   : schema::PasswordPolicy{});
}

schema::Response ControlService::ConsoleLogin(const std::string& user,
                                              const std::string& password) {
  std::unique_lock lock(mutex_);
  int64_t now = clock_.NowUnixMs() / 1000;
  auto target = users::LoginTarget(users_, user, now);
  users::LoginResult result;
  if (target) {
    lock.unlock();  // 600,000 PBKDF2 iterations must not stall the API
    const bool matched = users::Matches(*target, password);
    lock.lock();
    now = clock_.NowUnixMs() / 1000;
    result = users::RecordAttempt(users_, user, matched, now, Policy());
    // Failure counts and lockouts survive a restart; a login that cannot be recorded
    // does not count as a login.
    if (save_users_) {
      if (auto saved = save_users_(users_); !saved && result == users::LoginResult::kOk)
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

  const schema::User* known = Find(users_, user);
  std::vector<schema::Role> roles;
  if (known != nullptr && result != users::LoginResult::kUnknownUser)
    for (int r : known->roles()) roles.push_back(static_cast<schema::Role>(r));
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
  if (auto ok = Audit(logged_user, roles, schema::CONSOLE_LOGIN, response.outcome(), detail); !ok)
    return Result(schema::FAILED, "audit log: " + ok.error());
  if (response.outcome() == schema::OK) {
    response.set_user(user);
    if (auto running = store_.Running())
      response.set_login_banner(running->config().management().login_banner());
    response.set_clock_unix_ms(clock_.NowUnixMs());
  }
  return response;
}

schema::Response ControlService::Dispatch(const schema::Request& request, std::string* detail) {
  switch (request.rpc()) {
    case schema::STATUS: {
      schema::Response r = Result(schema::OK);
      r.set_running_version(store_.running_version());
      r.set_highest_version(store_.highest_version());
      if (store_.state().has_pending()) r.set_pending_version(store_.state().pending().version());
      if (auto running = store_.Running())
        r.set_login_banner(running->config().management().login_banner());
      // What the dataplane enforces, which is what counts: it verifies every bundle
      // itself, and may be running another version (or none) than the store's.
      if (dataplane_ != nullptr) {
        schema::DataplaneRequest ask;
        ask.set_get_status(true);
        if (auto state = dataplane_->Call(ask)) {
          r.set_dataplane_reachable(true);
          r.set_dataplane_version(state->rules_version());
          if (state->rules_version() != store_.running_version())
            r.set_warning("the dataplane enforces version " +
                          std::to_string(state->rules_version()) + ", not the running version " +
                          std::to_string(store_.running_version()));
        } else {
          r.set_warning("the dataplane does not answer: " + state.error());
        }
      }
      return r;
    }
    case schema::CONFIG_SHOW: {
      auto running = store_.Running();
      if (!running) return Result(schema::FAILED, "no configuration has been accepted yet");
      schema::Response r = Result(schema::OK);
      google::protobuf::TextFormat::PrintToString(running->config(), r.mutable_text());
      r.set_running_version(running->meta().version());
      return r;
    }
    case schema::CONFIG_HISTORY: {
      schema::Response r = Result(schema::OK);
      for (uint64_t v : store_.state().history()) r.add_versions(v);
      r.set_running_version(store_.running_version());
      return r;
    }
    case schema::CONFIG_DIFF: {
      auto diff = store_.Diff(request.version(), request.other_version());
      if (!diff) return Refused(diff.error());
      schema::Response r = Result(schema::OK);
      r.set_text(*diff);
      return r;
    }
    case schema::COUNTERS: {
      if (dataplane_ == nullptr) return Result(schema::FAILED, "no dataplane is attached");
      schema::DataplaneRequest request_counters;
      request_counters.set_get_counters(true);
      auto reply = dataplane_->Call(request_counters);
      if (!reply) return Result(schema::FAILED, reply.error());
      schema::Response r = Result(schema::OK);
      *r.mutable_counters() = reply->counters();
      r.set_running_version(reply->rules_version());
      return r;
    }
    case schema::CONFIG_PUSH: {
      const uint64_t before = store_.running_version();
      store::PushOptions options;
      if (request.confirm_within_s() != 0) options.confirm_within_s = request.confirm_within_s();
      options.downgrade_authorization = request.downgrade_authorization();
      auto version = store_.Push(request.bundle(), options);
      if (!version) return Refused(version.error());
      // The audit entry records what changed.
      if (before != 0) {
        auto diff = store_.Diff(before, *version);
        *detail = diff ? *diff : "pushed version " + std::to_string(*version);
      } else {
        *detail = "pushed version " + std::to_string(*version) + " (first configuration)";
      }
      schema::Response r = Result(schema::OK);
      r.set_running_version(*version);
      if (const std::string why = SyncDataplane(); !why.empty())
        r.set_warning("accepted, not yet in the dataplane: " + why);
      return r;
    }
    case schema::CONFIG_CONFIRM: {
      if (auto ok = store_.Confirm(); !ok) return Refused(ok.error());
      *detail = "confirmed version " + std::to_string(store_.running_version());
      return Result(schema::OK);
    }
    case schema::CONFIG_ROLLBACK: {
      const uint64_t before = store_.running_version();
      if (auto ok = store_.Rollback(request.version()); !ok) return Refused(ok.error());
      *detail = "rolled back from version " + std::to_string(before) + " to " +
                std::to_string(request.version());
      schema::Response r = Result(schema::OK);
      r.set_running_version(request.version());
      if (const std::string why = SyncDataplane(); !why.empty())
        r.set_warning("accepted, not yet in the dataplane: " + why);
      return r;
    }
    case schema::USER_LIST: {
      schema::Response r = Result(schema::OK);
      for (const auto& u : users_.users()) {  // names and roles only, never password hashes
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
    case schema::USER_ADD:
    case schema::USER_REMOVE:
    case schema::USER_SET_ROLES:
      return ChangeUsers(request, detail);
    case schema::CERT_APPROVE: {
      if (ca_ == nullptr) return Result(schema::FAILED, "this appliance has no management CA key");
      // Only for an existing, enabled user: approval grants a certificate, never roles.
      if (Find(users_, request.user_name()) == nullptr)
        return Result(schema::REFUSED,
                      "no enabled user \"" + request.user_name() + "\"; add the user first");
      auto cert = ca_->SignRequest(request.csr_pem(), request.user_name());
      if (!cert) return Result(schema::REFUSED, cert.error());
      auto key = pki::KeyId(*cert);
      if (!key) return Result(schema::FAILED, key.error());
      // The new certificate's key is bound to the user: it, and no other, logs in as them.
      if (!save_users_)
        return Result(schema::FAILED, "user changes are not enabled on this appliance");
      schema::UserDirectory next = users_;
      if (auto bound = users::BindKey(next, request.user_name(), *key); !bound)
        return Result(schema::REFUSED, bound.error());
      if (auto saved = save_users_(next); !saved)
        return Result(schema::FAILED, "users file: " + saved.error());
      users_ = std::move(next);
      *detail =
          "issued a certificate for " + request.user_name() + " (key " + key->substr(0, 23) + ")";
      schema::Response r = Result(schema::OK);
      r.set_certificate_pem(*cert);
      return r;
    }
    case schema::AUDIT_READ: {
      // A page at a time, well inside the frame limit however long the log grows.
      constexpr uint32_t kMaxEntries = 1000;
      constexpr size_t kMaxBytes = 1u << 20;
      const uint32_t max =
          request.audit_max() == 0 ? kMaxEntries : std::min(request.audit_max(), kMaxEntries);
      auto page =
          audit::ReadPage(audit_dir_, std::max<uint64_t>(request.audit_from(), 1), max, kMaxBytes);
      if (!page) return Result(schema::FAILED, "audit log does not verify: " + page.error());
      schema::Response r = Result(schema::OK);
      for (auto& e : page->entries) *r.add_audit() = std::move(e);
      r.set_audit_next(page->next);
      return r;
    }
    case schema::AUDIT_VERIFY: {
      const audit::VerifyResult v = audit::Verify(audit_dir_);
      schema::Response r = Result(schema::OK, v.reason);
      r.set_audit_intact(v.ok);
      r.set_audit_entries(v.entries);
      return r;
    }
    case schema::MEDIA_SESSION_CREATE:
    case schema::MEDIA_SESSION_UPDATE:
    case schema::MEDIA_SESSION_DELETE:
    case schema::MEDIA_SESSION_LIST:
      return Media(request, detail);
    case schema::USER_SET_PASSWORD:
      return SetPassword(request, detail);
    case schema::CLOCK_SET:
      return SetClock(request, detail);
    case schema::KEY_ROTATE:
      return RotateKeyNamed(request.key_name(), detail);
    case schema::CONSOLE_LOGIN:
      return Result(schema::REFUSED,
                    "CONSOLE_LOGIN is taken on the console socket only; the API authenticates by "
                    "certificate");
    default:
      return Result(schema::FAILED,
                    schema::Rpc_Name(request.rpc()) + " is not available on this appliance yet");
  }
}

schema::Response ControlService::Media(const schema::Request& request, std::string* detail) {
  if (dataplane_ == nullptr) return Result(schema::FAILED, "no dataplane is attached");
  schema::DataplaneRequest ipc;
  if (request.rpc() == schema::MEDIA_SESSION_CREATE)
    *ipc.mutable_media_create()->mutable_sessions() = request.media_sessions();
  else if (request.rpc() == schema::MEDIA_SESSION_UPDATE)
    *ipc.mutable_media_update()->mutable_sessions() = request.media_sessions();
  else if (request.rpc() == schema::MEDIA_SESSION_DELETE)
    *ipc.mutable_media_delete()->mutable_sessions() = request.media_sessions();
  else
    ipc.set_media_list(true);
  if (request.rpc() != schema::MEDIA_SESSION_LIST && request.media_sessions_size() == 0)
    return Result(schema::REFUSED, "no media sessions in the request");
  auto reply = dataplane_->Call(ipc);
  if (!reply) return Result(schema::FAILED, reply.error());
  if (!reply->ok()) return Result(schema::FAILED, "the dataplane refused: " + reply->error());
  schema::Response r = Result(schema::OK);
  *r.mutable_media_sessions() = reply->media_sessions();
  if (request.rpc() == schema::MEDIA_SESSION_LIST) return r;
  // The audit entry names sessions, interfaces and suites: never addresses (personal
  // data) or keys.
  std::string done, refused;
  int failures = 0;
  for (const auto& s : reply->media_sessions()) {
    if (!s.error().empty()) {
      ++failures;
      refused += (refused.empty() ? "" : "; ") +
                 (s.id() ? std::to_string(s.id()) : std::string("a new session")) + ": " +
                 s.error();
      continue;
    }
    std::string legs;
    for (const auto& leg : s.legs())
      legs += (legs.empty() ? "" : " <-> ") + leg.interface() + " " +
              (leg.suite() == schema::SRTP_SUITE_UNSPECIFIED ? "plain"
                                                             : schema::SrtpSuite_Name(leg.suite()));
    done += (done.empty() ? "" : ", ") + std::to_string(s.id()) +
            (legs.empty() ? "" : " (" + legs + ")");
  }
  const char* verb = request.rpc() == schema::MEDIA_SESSION_CREATE   ? "created"
                     : request.rpc() == schema::MEDIA_SESSION_UPDATE ? "updated"
                                                                     : "deleted";
  *detail = (done.empty() ? "" : std::string(verb) + " " + done) +
            (refused.empty() ? "" : std::string(done.empty() ? "" : "; ") + "refused " + refused);
  if (failures == reply->media_sessions_size()) {
    r.set_outcome(schema::REFUSED);
    r.set_error(reply->media_sessions(0).error());
  }
  return r;
}

schema::Response ControlService::SetPassword(const schema::Request& request, std::string* detail) {
  if (!save_users_) return Result(schema::FAILED, "user changes are not enabled on this appliance");
  schema::UserDirectory next = users_;
  schema::User* user = nullptr;
  for (auto& u : *next.mutable_users())
    if (u.name() == request.user_name()) user = &u;
  if (user == nullptr) return Result(schema::REFUSED, "no user \"" + request.user_name() + "\"");
  if (auto ok = users::CheckPolicy(user->name(), request.password(), Policy()); !ok)
    return Result(schema::REFUSED, "password policy: " + ok.error());
  // One PBKDF2 under the lock (about a third of a second): password changes are rare.
  auto hash = users::HashPassword(request.password());
  if (!hash) return Result(schema::FAILED, hash.error());
  *user->mutable_password() = std::move(*hash);
  user->set_failed_logins(0);
  user->set_locked_until_unix(0);  // a new password also lifts a lockout
  if (auto saved = save_users_(next); !saved)
    return Result(schema::FAILED, "users file: " + saved.error());
  users_ = std::move(next);
  *detail = "set the console password of " + request.user_name();
  return Result(schema::OK);
}

schema::Response ControlService::SetClock(const schema::Request& request, std::string* detail) {
  if (settable_clock_ == nullptr)
    return Result(schema::FAILED, "this appliance's clock cannot be set");
  const int64_t before = clock_.NowUnixMs();
  if (request.clock_unix_ms() < clock::kEarliestUnixMs ||
      request.clock_unix_ms() >= clock::kLatestUnixMs)
    return Result(schema::REFUSED, clock::FormatUtc(request.clock_unix_ms()) + " is outside " +
                                       clock::FormatUtc(clock::kEarliestUnixMs) + " to " +
                                       clock::FormatUtc(clock::kLatestUnixMs));
  if (auto ok = settable_clock_->Set(request.clock_unix_ms()); !ok)
    return Result(schema::FAILED, ok.error());
  *detail = "clock set from " + clock::FormatUtc(before) + " to " +
            clock::FormatUtc(request.clock_unix_ms());
  return Result(schema::OK);
}

schema::Response ControlService::RotateKeyNamed(const std::string& key_name, std::string* detail) {
  const auto it = key_rotations_.find(key_name);
  if (it == key_rotations_.end()) {
    std::string known;
    for (const auto& [name, rotate] : key_rotations_) known += (known.empty() ? "" : ", ") + name;
    return Result(schema::REFUSED,
                  "no key \"" + key_name +
                      "\" to rotate; this appliance rotates: " + (known.empty() ? "none" : known));
  }
  auto rotated = it->second();
  if (!rotated) return Result(schema::FAILED, key_name + ": " + rotated.error());
  *detail = "rotated " + key_name + ": " + *rotated;
  schema::Response r = Result(schema::OK);
  r.set_text(*detail);
  return r;
}

void ControlService::AttachClock(clock::SettableClock* clock) {
  std::lock_guard lock(mutex_);
  settable_clock_ = clock;
}

void ControlService::AttachKeyRotation(const std::string& key_name, RotateKey rotate) {
  std::lock_guard lock(mutex_);
  key_rotations_[key_name] = std::move(rotate);
}

void ControlService::SetUserPersistence(SaveUsers save) {
  std::lock_guard lock(mutex_);
  save_users_ = std::move(save);
}

schema::Response ControlService::ChangeUsers(const schema::Request& request, std::string* detail) {
  if (!save_users_) return Result(schema::FAILED, "user changes are not enabled on this appliance");
  schema::UserDirectory next = users_;
  std::vector<schema::Role> roles;
  for (int r : request.roles()) roles.push_back(static_cast<schema::Role>(r));
  std::expected<void, std::string> ok;
  std::string before;
  for (const auto& u : users_.users())
    if (u.name() == request.user_name()) before = users::Describe(u);
  switch (request.rpc()) {
    case schema::USER_ADD:
      ok = users::AddUser(next, request.user_name(), roles);
      break;
    case schema::USER_REMOVE:
      ok = users::RemoveUser(next, request.user_name());
      break;
    default:
      ok = users::SetRoles(next, request.user_name(), roles);
      break;
  }
  if (!ok) return Result(schema::REFUSED, ok.error());
  if (auto saved = save_users_(next); !saved)
    return Result(schema::FAILED, "users file: " + saved.error());
  users_ = std::move(next);
  std::string after;
  for (const auto& u : users_.users())
    if (u.name() == request.user_name()) after = users::Describe(u);
  *detail = request.rpc() == schema::USER_ADD      ? "added user " + after
            : request.rpc() == schema::USER_REMOVE ? "removed user " + before
                                                   : "roles of " + before + " -> " + after;
  return Result(schema::OK);
}

void ControlService::AttachCertificateAuthority(pki::CertificateAuthority* ca) {
  std::lock_guard lock(mutex_);
  ca_ = ca;
}

void ControlService::AttachDataplane(DataplaneLink* link) {
  std::lock_guard lock(mutex_);
  dataplane_ = link;
}

std::string ControlService::SyncDataplane() {
  if (dataplane_ == nullptr) return "no dataplane is attached";
  auto envelope = store_.RunningEnvelope();
  if (!envelope) return "";
  schema::DataplaneRequest request;
  request.set_apply_bundle(*envelope);
  auto response = dataplane_->Call(request);
  if (!response) return response.error();
  if (!response->ok()) return "the dataplane refused it: " + response->error();
  return "";
}

void ControlService::Tick() {
  std::lock_guard lock(mutex_);
  if (dataplane_ != nullptr && store_.running_version() != 0) {
    schema::DataplaneRequest probe;
    probe.set_get_counters(true);
    auto state = dataplane_->Call(probe);
    if (state && state->rules_version() != store_.running_version()) (void)SyncDataplane();
  }
  if (!store_.state().has_pending()) return;
  const auto ended = store_.Tick();
  if (!ended) return;
  const std::string not_applied = SyncDataplane();
  // The revert stands even if the log is failing.
  (void)Audit("sbc-mgmtd", {}, schema::CONFIG_ROLLBACK, schema::OK,
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
