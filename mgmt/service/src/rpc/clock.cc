// The appliance's clock: set by a security-admin, audited with the old and new time
// (certificate expiry, confirmation deadlines and the audit log's times run on it).
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

schema::Response Set(ServiceState& state, const schema::ClockSet& args, std::string* detail) {
  if (state.settable_clock == nullptr)
    return Result(schema::FAILED, "this appliance's clock cannot be set");
  const int64_t before = state.clock.NowUnixMs();
  if (args.unix_ms() < clock::kEarliestUnixMs || args.unix_ms() >= clock::kLatestUnixMs)
    return Result(schema::REFUSED, clock::FormatUtc(args.unix_ms()) + " is outside " +
                                       clock::FormatUtc(clock::kEarliestUnixMs) + " to " +
                                       clock::FormatUtc(clock::kLatestUnixMs));
  if (auto ok = state.settable_clock->Set(args.unix_ms()); !ok)
    return Result(schema::FAILED, ok.error());
  *detail =
      "clock set from " + clock::FormatUtc(before) + " to " + clock::FormatUtc(args.unix_ms());
  return Result(schema::OK);
}

constexpr RpcRow kRows[] = {
    {schema::CLOCK_SET, RoleBit(schema::SECURITY_ADMIN), Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::clock_set, Set>, "set the clock"},
};

}  // namespace

std::span<const RpcRow> ClockRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
