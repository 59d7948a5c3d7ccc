// STATUS and COUNTERS: what the appliance runs and what its dataplane counts.
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

schema::Response Status(ServiceState& state, std::string*) {
  schema::Response r = Result(schema::OK);
  DataplaneLink* dataplane;
  {
    std::lock_guard lock(state.mutex);
    r.set_running_version(state.store.running_version());
    r.set_highest_version(state.store.highest_version());
    if (state.store.state().has_pending())
      r.set_pending_version(state.store.state().pending().version());
    if (auto running = state.store.Running())
      r.set_login_banner(running->config().management().login_banner());
    dataplane = state.dataplane;
  }
  // What the dataplane enforces, which is what counts: it verifies every bundle itself,
  // and may be running another version (or none) than the store's.
  if (dataplane != nullptr) {
    schema::DataplaneRequest ask;
    ask.set_get_status(true);
    if (auto answer = dataplane->Call(ask)) {
      r.set_dataplane_reachable(true);
      r.set_dataplane_version(answer->rules_version());
      if (answer->rules_version() != r.running_version())
        r.set_warning("the dataplane enforces version " + std::to_string(answer->rules_version()) +
                      ", not the running version " + std::to_string(r.running_version()));
    } else {
      r.set_warning("the dataplane does not answer: " + answer.error());
    }
  }
  return r;
}

schema::Response Counters(ServiceState& state, std::string*) {
  DataplaneLink* dataplane;
  {
    std::lock_guard lock(state.mutex);
    dataplane = state.dataplane;
  }
  if (dataplane == nullptr) return Result(schema::FAILED, "no dataplane is attached");
  schema::DataplaneRequest ask;
  ask.set_get_counters(true);
  auto reply = dataplane->Call(ask);
  if (!reply) return Result(schema::FAILED, reply.error());
  schema::Response r = Result(schema::OK);
  *r.mutable_counters() = reply->counters();
  r.set_running_version(reply->rules_version());
  return r;
}

constexpr RpcRow kRows[] = {
    {schema::STATUS, kEveryRole, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::status, Status>, "read the status"},
    {schema::COUNTERS,
     RoleBit(schema::VIEWER) | RoleBit(schema::OPERATOR) | RoleBit(schema::AUDITOR) |
         RoleBit(schema::SECURITY_ADMIN),
     Locking::kWaitsOnADaemon, HandlerFor<&schema::Request::counters, Counters>,
     "read the counters"},
};

}  // namespace

std::span<const RpcRow> StatusRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
