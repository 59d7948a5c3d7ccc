// audit: the audit log read a page at a time, and its hash chain checked.
#include <algorithm>
#include <memory>

#include "commands/command.h"

namespace sbc::tools {
namespace {

struct AuditOptions {
  uint64_t from = 1, limit = 0;  // limit 0: to the end
};

// The first page, then the rest up to the limit, as one reply.
std::expected<schema::Response, Failure> ReadPages(const AuditOptions& options,
                                                   Connection& connection,
                                                   schema::Request& request) {
  schema::AuditRead* args = request.mutable_audit_read();
  args->set_from(options.from);
  if (options.limit != 0)
    args->set_max(static_cast<uint32_t>(std::min<uint64_t>(options.limit, 1000)));
  auto reply = connection.Call(request);
  if (!reply) return reply;
  auto short_of_limit = [&] {
    return options.limit == 0 || static_cast<uint64_t>(reply->audit_size()) < options.limit;
  };
  while (reply->outcome() == schema::OK && reply->audit_next() != 0 && short_of_limit()) {
    args->set_from(reply->audit_next());
    auto more = connection.Call(request);
    if (!more) return more;
    if (more->outcome() != schema::OK) return more;
    for (auto& e : *more->mutable_audit()) *reply->add_audit() = std::move(e);
    reply->set_audit_next(more->audit_next());
  }
  if (options.limit != 0 && static_cast<uint64_t>(reply->audit_size()) > options.limit)
    reply->mutable_audit()->DeleteSubrange(static_cast<int>(options.limit),
                                           reply->audit_size() - static_cast<int>(options.limit));
  return reply;
}

}  // namespace

void AddAuditCommands(CLI::App& app, Command& command) {
  auto options = std::make_shared<AuditOptions>();  // held by the callback
  auto* audit = app.add_subcommand("audit", "the audit log")->require_subcommand(1);
  auto* show = audit->add_subcommand("show", "the entries, oldest first (read a page at a time)");
  show->add_option("--from", options->from, "the first entry's sequence number");
  show->add_option("--limit", options->limit, "at most this many entries (0: to the end)");
  show->callback([&command, options] {
    (void)command.request.mutable_audit_read();
    command.call = [options](Connection& connection, schema::Request& request) {
      return ReadPages(*options, connection, request);
    };
  });
  audit->add_subcommand("verify", "check the hash chain")->callback([&] {
    (void)command.request.mutable_audit_verify();
    command.failed_despite_ok = [](const schema::Response& r) { return !r.audit_intact(); };
  });
}

}  // namespace sbc::tools
