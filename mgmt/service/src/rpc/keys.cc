// The appliance's own keys, replaced on demand (KEY_ROTATE): each key the daemon
// attached a rotation for (ControlService::AttachKeyRotation), by name.
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

schema::Response Rotate(ServiceState& state, const schema::KeyRotate& args, std::string* detail) {
  const auto it = state.key_rotations.find(args.key_name());
  if (it == state.key_rotations.end()) {
    std::string known;
    for (const auto& [name, rotate] : state.key_rotations)
      known += (known.empty() ? "" : ", ") + name;
    return Result(schema::REFUSED,
                  "no key \"" + args.key_name() +
                      "\" to rotate; this appliance rotates: " + (known.empty() ? "none" : known));
  }
  auto rotated = it->second();
  if (!rotated) return Result(schema::FAILED, args.key_name() + ": " + rotated.error());
  *detail = "rotated " + args.key_name() + ": " + *rotated;
  schema::Response r = Result(schema::OK);
  r.set_text(*detail);
  return r;
}

constexpr RpcRow kRows[] = {
    {schema::KEY_ROTATE, RoleBit(schema::SECURITY_ADMIN), Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::key_rotate, Rotate>, "rotated a key"},
};

}  // namespace

std::span<const RpcRow> KeyRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
