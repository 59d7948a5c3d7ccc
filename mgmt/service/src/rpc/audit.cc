// The audit log, read back: a page at a time, and its hash chain verified. Under the
// service's lock, so no entry is half-appended while it is read.
#include <algorithm>

#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

schema::Response Read(ServiceState& state, const schema::AuditRead& args, std::string* detail) {
  // A page at a time, well inside the frame limit however long the log grows.
  constexpr uint32_t kMaxEntries = 1000;
  constexpr size_t kMaxBytes = 1u << 20;
  const uint32_t max = args.max() == 0 ? kMaxEntries : std::min(args.max(), kMaxEntries);
  const uint64_t from = std::max<uint64_t>(args.from(), 1);
  auto page = audit::ReadPage(state.audit_dir, from, max, kMaxBytes);
  if (!page) return Result(schema::FAILED, "audit log does not verify: " + page.error());
  schema::Response r = Result(schema::OK);
  if (!page->entries.empty())
    *detail = "read entries " + std::to_string(from) + " to " +
              std::to_string(page->entries.back().sequence());
  for (auto& e : page->entries) *r.add_audit() = std::move(e);
  r.set_audit_next(page->next);
  return r;
}

schema::Response Verify(ServiceState& state, std::string* detail) {
  const audit::VerifyResult v = audit::Verify(state.audit_dir);
  *detail = v.ok ? "verified the audit log: " + std::to_string(v.entries) + " entries intact"
                 : "the audit log does not verify: " + v.reason;
  schema::Response r = Result(schema::OK, v.reason);
  r.set_audit_intact(v.ok);
  r.set_audit_entries(v.entries);
  return r;
}

constexpr RpcRow kRows[] = {
    {schema::AUDIT_READ, RoleBit(schema::AUDITOR), Locking::kUnderServiceLock,
     HandlerFor<&schema::Request::audit_read, Read>, "read the audit log (no entries)"},
    {schema::AUDIT_VERIFY, RoleBit(schema::AUDITOR) | RoleBit(schema::SECURITY_ADMIN),
     Locking::kUnderServiceLock, HandlerFor<&schema::Request::audit_verify, Verify>,
     "verified the audit log"},
};

}  // namespace

std::span<const RpcRow> AuditRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
