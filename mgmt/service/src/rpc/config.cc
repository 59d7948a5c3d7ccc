// The signed configuration: show, history, diff, push, confirm, rollback. The store
// verifies and keeps it; a change is handed to the dataplane, which verifies it again.
#include <google/protobuf/text_format.h>

#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

constexpr uint32_t kReaders =
    RoleBit(schema::OPERATOR) | RoleBit(schema::AUDITOR) | RoleBit(schema::SECURITY_ADMIN);

schema::Response Show(ServiceState& state, std::string*) {
  auto running = state.store.Running();
  if (!running) return Result(schema::FAILED, "no configuration has been accepted yet");
  schema::Response r = Result(schema::OK);
  google::protobuf::TextFormat::PrintToString(running->config(), r.mutable_text());
  r.set_running_version(running->meta().version());
  return r;
}

schema::Response History(ServiceState& state, std::string*) {
  schema::Response r = Result(schema::OK);
  for (uint64_t v : state.store.state().history()) r.add_versions(v);
  r.set_running_version(state.store.running_version());
  return r;
}

schema::Response Diff(ServiceState& state, const schema::ConfigDiff& args, std::string*) {
  auto diff = state.store.Diff(args.from_version(), args.to_version());
  if (!diff) return Refused(diff.error());
  schema::Response r = Result(schema::OK);
  r.set_text(*diff);
  return r;
}

// After a change the store accepted: the dataplane's turn, outside the service's lock.
void Sync(ServiceState& state, schema::Response& r) {
  if (const std::string why = SyncDataplane(state); !why.empty())
    r.set_warning("accepted, not yet in the dataplane: " + why);
}

schema::Response Push(ServiceState& state, const schema::ConfigPush& args, std::string* detail) {
  schema::Response r = Result(schema::OK);
  {
    std::lock_guard lock(state.mutex);
    const uint64_t before = state.store.running_version();
    store::PushOptions options;
    if (args.confirm_within_s() != 0) options.confirm_within_s = args.confirm_within_s();
    options.downgrade_authorization = args.downgrade_authorization();
    auto version = state.store.Push(args.bundle(), options);
    if (!version) return Refused(version.error());
    // The audit entry records what changed.
    if (before != 0) {
      auto diff = state.store.Diff(before, *version);
      *detail = diff ? *diff : "pushed version " + std::to_string(*version);
    } else {
      *detail = "pushed version " + std::to_string(*version) + " (first configuration)";
    }
    r.set_running_version(*version);
  }
  Sync(state, r);
  return r;
}

schema::Response Confirm(ServiceState& state, std::string* detail) {
  if (auto ok = state.store.Confirm(); !ok) return Refused(ok.error());
  *detail = "confirmed version " + std::to_string(state.store.running_version());
  return Result(schema::OK);
}

schema::Response Rollback(ServiceState& state, const schema::ConfigRollback& args,
                          std::string* detail) {
  schema::Response r = Result(schema::OK);
  {
    std::lock_guard lock(state.mutex);
    const uint64_t before = state.store.running_version();
    if (auto ok = state.store.Rollback(args.version()); !ok) return Refused(ok.error());
    *detail = "rolled back from version " + std::to_string(before) + " to " +
              std::to_string(args.version());
    r.set_running_version(args.version());
  }
  Sync(state, r);
  return r;
}

constexpr RpcRow kRows[] = {
    {schema::CONFIG_SHOW, kReaders, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::config_show, Show>, "read the running configuration"},
    {schema::CONFIG_HISTORY, kReaders, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::config_history, History>, "read the configuration history"},
    {schema::CONFIG_DIFF, kReaders, Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::config_diff, Diff>, "read a configuration diff"},
    {schema::CONFIG_PUSH, RoleBit(schema::OPERATOR), Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::config_push, Push>, "pushed a configuration"},
    {schema::CONFIG_CONFIRM, RoleBit(schema::OPERATOR), Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::config_confirm, Confirm>, "confirmed the configuration"},
    {schema::CONFIG_ROLLBACK, RoleBit(schema::OPERATOR), Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::config_rollback, Rollback>, "rolled the configuration back"},
};

}  // namespace

std::span<const RpcRow> ConfigRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
