#include "service_state.h"

#include "sbc/mgmt/trust/verifier.h"

namespace sbc::mgmt::service {

schema::Response Result(schema::Outcome outcome, std::string error) {
  schema::Response r;
  r.set_outcome(outcome);
  r.set_error(std::move(error));
  return r;
}

schema::Response Refused(const store::TrustError& error) {
  return Result(schema::REFUSED,
                std::string(trust::RejectionName(error.reason)) + ": " + error.message);
}

std::expected<void, std::string> AuditAction(ServiceState& state, const std::string& user,
                                             const std::vector<schema::Role>& roles,
                                             schema::Rpc rpc, schema::Outcome outcome,
                                             const std::string& detail) {
  schema::AuditEntry entry;
  entry.set_time_unix_ms(state.clock.NowUnixMs());
  entry.set_user(user);
  for (schema::Role r : roles) entry.add_roles(r);
  entry.set_rpc(rpc);
  entry.set_outcome(outcome);
  entry.set_detail(detail);
  if (auto appended = state.audit.Append(entry); !appended)
    return std::unexpected(appended.error());
  return {};
}

const schema::User* FindUser(const schema::UserDirectory& users, const std::string& name) {
  for (const auto& u : users.users())
    if (u.name() == name && !u.disabled()) return &u;
  return nullptr;
}

std::string SyncDataplane(ServiceState& state) {
  std::lock_guard sync(state.sync_mutex);
  DataplaneLink* dataplane;
  std::optional<std::string> envelope;
  {
    std::lock_guard lock(state.mutex);
    dataplane = state.dataplane;
    envelope = state.store.RunningEnvelope();
  }
  if (dataplane == nullptr) return "no dataplane is attached";
  if (!envelope) return "";
  schema::DataplaneRequest request;
  request.set_apply_bundle(*envelope);
  auto response = dataplane->Call(request);
  if (!response) return response.error();
  if (!response->ok()) return "the dataplane refused it: " + response->error();
  return "";
}

}  // namespace sbc::mgmt::service
