#include "boot_events.h"

#include <charconv>
#include <iostream>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/clock/settable_clock.h"

namespace sbc::mgmt::service {
namespace {

namespace fs = std::filesystem;

// The sequence number of the last event audited; 0 when none (or the file is gone).
uint64_t ReadAudited(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return 0;
  auto bytes = base::ReadFile(file);
  uint64_t value = 0;
  if (!bytes ||
      std::from_chars(bytes->data(), bytes->data() + bytes->size(), value).ec != std::errc())
    return 0;
  return value;
}

std::string DetailOf(const schema::BootEvent& event) {
  return "boot event " + std::to_string(event.sequence()) + " at " +
         clock::FormatUtc(event.unix_time() * 1000) +
         (event.slot().empty() ? "" : ", slot " + event.slot()) + ": " + event.what();
}

std::expected<schema::BootResponse, std::string> EventsAfter(BootLink& boot, uint64_t after) {
  schema::BootRequest request;
  request.set_events_after(after);
  auto reply = boot.Call(request);
  if (!reply) return reply;
  if (!reply->ok()) return std::unexpected(reply->error());
  return reply;
}

}  // namespace

void AuditBootEvents(ServiceState& state) {
  BootLink* boot;
  fs::path file;
  uint64_t audited;
  {
    std::lock_guard lock(state.mutex);
    boot = state.boot;
    file = state.boot_events_file;
    if (boot == nullptr || file.empty()) return;
    if (!state.boot_events_audited) state.boot_events_audited = ReadAudited(file);
    audited = *state.boot_events_audited;
  }
  auto reply = EventsAfter(*boot, audited);
  if (!reply) return;
  std::vector<std::string> lines;
  if (reply->events_recorded() < audited) {
    // Fewer events than were audited: the boot state was made afresh (the box was
    // flashed again). Its events are new ones, from the first.
    lines.push_back("the boot state was started afresh (" +
                    std::to_string(reply->events_recorded()) + " event(s) since; " +
                    std::to_string(audited) + " audited before)");
    audited = 0;
    reply = EventsAfter(*boot, 0);
    if (!reply) return;
  }
  std::vector<const schema::BootEvent*> events;
  for (const schema::BootEvent& event : reply->events())
    if (event.sequence() > audited) events.push_back(&event);
  if (events.empty() && lines.empty()) return;
  uint64_t last = audited;
  std::lock_guard lock(state.mutex);
  for (const std::string& line : lines)
    if (!AuditAction(state, "sbc-boot", {}, schema::FIRMWARE_EVENT, schema::OK, line)) return;
  for (const schema::BootEvent* event : events) {
    if (event->sequence() > last + 1) {
      // The boot state keeps a bounded history; what fell out of it before this daemon
      // ran is named, not passed over in silence.
      const std::string gap = "boot events " + std::to_string(last + 1) + " to " +
                              std::to_string(event->sequence() - 1) +
                              " left sbc-boot's bounded history before they were audited";
      if (!AuditAction(state, "sbc-boot", {}, schema::FIRMWARE_EVENT, schema::FAILED, gap)) break;
    }
    if (!AuditAction(state, "sbc-boot", {}, schema::FIRMWARE_EVENT,
                     event->alarm() ? schema::FAILED : schema::OK, DetailOf(*event)))
      break;
    last = event->sequence();
  }
  // In memory first: a file that cannot be written costs a duplicate after a restart,
  // not one on every call.
  state.boot_events_audited = last;
  if (auto written = base::WriteFileAtomically(file.parent_path(), file.filename().string(),
                                               std::to_string(last));
      !written)
    std::cerr << "sbc-mgmtd: " << file.string() << ": " << written.error() << std::endl;
}

}  // namespace sbc::mgmt::service
