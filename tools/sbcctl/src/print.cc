#include "print.h"

#include <google/protobuf/util/json_util.h>

#include <sstream>
#include "media_legs.h"
#include "sbc/mgmt/clock/settable_clock.h"

namespace sbc::tools {

std::string AsJson(const schema::Response& response) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  return json + "\n";
}

namespace {

std::string FirmwareText(const schema::Response& r) {
  std::ostringstream out;
  const schema::FirmwareStatus& f = r.firmware();
  for (const schema::SlotStatus& slot : f.slots()) {
    out << "slot " << slot.name() << ": ";
    if (slot.refusal().empty())
      out << "image " << slot.version_name() << " (build " << slot.version() << ", rollback index "
          << slot.rollback_index() << ")";
    else
      out << "no bootable image: " << slot.refusal();
    out << (slot.booted() ? ", booted" : "") << (slot.primary() ? ", boots next" : "")
        << (slot.name() == f.trial() ? ", on trial" : "") << ", " << slot.attempts_left()
        << " boot attempt(s) left\n";
  }
  out << "health: " << f.health() << "; committed rollback index " << f.rollback_index() << "\n";
  if (r.firmware_upload_size() != 0 && r.firmware_upload_offset() < r.firmware_upload_size())
    out << "upload held: " << r.firmware_upload_offset() << " of " << r.firmware_upload_size()
        << " bytes\n";
  for (const std::string& finding : f.integrity_findings()) out << "integrity: " << finding << "\n";
  for (const schema::BootEvent& event : f.events())
    out << "  " << mgmt::clock::FormatUtc(event.unix_time() * 1000) << " slot " << event.slot()
        << ": " << event.what() << "\n";
  return out.str();
}

}  // namespace

std::string AsText(schema::Rpc rpc, const schema::Response& r) {
  std::ostringstream out;
  switch (rpc) {
    case schema::STATUS:
      if (!r.login_banner().empty())
        out << r.login_banner() << (r.login_banner().back() == '\n' ? "" : "\n");
      out << "running config version " << r.running_version() << " (highest accepted "
          << r.highest_version() << ")";
      if (r.pending_version()) out << "; version " << r.pending_version() << " awaits confirmation";
      if (r.dataplane_reachable()) out << "\ndataplane enforces version " << r.dataplane_version();
      out << "\nappliance time " << mgmt::clock::FormatUtc(r.clock_unix_ms()) << "\n";
      break;
    case schema::CLOCK_SET:
      out << "appliance time " << mgmt::clock::FormatUtc(r.clock_unix_ms()) << "\n";
      break;
    case schema::CONFIG_HISTORY:
      for (uint64_t v : r.versions())
        out << v << (v == r.running_version() ? "  (running)" : "") << "\n";
      break;
    case schema::CONFIG_PUSH:
    case schema::CONFIG_ROLLBACK:
      out << "running config version " << r.running_version() << "\n";
      break;
    case schema::AUDIT_READ:
      for (const auto& e : r.audit()) {
        out << e.sequence() << " " << mgmt::clock::FormatUtc(e.time_unix_ms()) << " " << e.user()
            << " " << schema::Rpc_Name(e.rpc()) << " " << schema::Outcome_Name(e.outcome());
        const std::string first_line = e.detail().substr(0, e.detail().find('\n'));
        if (!first_line.empty()) out << "  " << first_line;
        out << "\n";
      }
      break;
    case schema::COUNTERS:
      for (const auto& c : r.counters())
        // Zero drop and rule counters are noise; ports and the rules version always show.
        if (c.value() != 0 || c.name().starts_with("port.") || c.name() == "rules_version")
          out << c.name() << " " << c.value() << "\n";
      break;
    case schema::USER_LIST:
      for (const auto& u : r.users()) {
        out << u.name() << " ";
        for (int i = 0; i < u.roles_size(); ++i)
          out << (i ? "," : "") << schema::Role_Name(static_cast<schema::Role>(u.roles(i)));
        out << (u.disabled() ? " (disabled)" : "")
            << (u.password_set() ? " (console password)" : "");
        if (u.locked_until_unix() * 1000 > r.clock_unix_ms() && u.locked_until_unix() != 0)
          out << " (console locked until " << mgmt::clock::FormatUtc(u.locked_until_unix() * 1000)
              << ")";
        out << "\n";
      }
      break;
    case schema::MEDIA_SESSION_CREATE:
    case schema::MEDIA_SESSION_UPDATE:
    case schema::MEDIA_SESSION_DELETE:
    case schema::MEDIA_SESSION_LIST:
      for (const auto& m : r.media_sessions()) {
        out << "media session " << m.id();
        if (!m.error().empty()) out << ": " << m.error();
        if (!m.ended().empty()) out << " ended: " << m.ended();
        out << "\n";
        for (const auto& leg : m.legs()) {
          out << "  " << leg.interface() << " local " << leg.local() << " "
              << (leg.suite() == schema::SRTP_SUITE_UNSPECIFIED
                      ? "plain"
                      : schema::SrtpSuite_Name(leg.suite()));
          if (!leg.our_key().empty()) out << " our key " << Base64(leg.our_key());
          if (rpc == schema::MEDIA_SESSION_LIST) {
            out << " remote " << (leg.remote().empty() ? "(not yet)" : leg.remote())
                << (leg.latched() ? " latched" : "") << " in " << leg.packets_in() << " out "
                << leg.packets_out() << " auth_failures " << leg.auth_failures() << " replays "
                << leg.replays() << " gaps " << leg.sequence_gaps() << " jitter " << leg.jitter();
          }
          out << "\n";
        }
      }
      break;
    case schema::AUDIT_VERIFY:
      if (r.audit_intact())
        out << "audit log intact: " << r.audit_entries() << " entries\n";
      else
        out << "audit log NOT intact: " << r.error() << "\n";
      break;
    case schema::FIRMWARE_STATUS:
    case schema::FIRMWARE_UPLOAD:
    case schema::FIRMWARE_ACTIVATE:
    case schema::FIRMWARE_COMMIT:
    case schema::FIRMWARE_REVERT:
    case schema::FIRMWARE_VERIFY:
      if (!r.text().empty()) out << r.text() << "\n";
      out << FirmwareText(r);
      break;
    default:
      out << r.text();
      if (!r.text().empty() && r.text().back() != '\n') out << "\n";
      if (r.text().empty()) out << "ok\n";
  }
  return out.str();
}

}  // namespace sbc::tools
