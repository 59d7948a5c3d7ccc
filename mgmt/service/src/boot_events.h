// sbc-boot's own events in sbc-mgmtd's audit log: boot attempts, refused images,
// crash loops, failed health checks, integrity alarms, watchdog resets, installs and
// reverts happen without an RPC, and sbc-boot cannot append to the log (it has one
// writer, this daemon). The boot state numbers its events; Tick asks sbc-boot for those
// after the last one audited and appends each, so an operator reading the audit log
// sees what the firmware did, in order, also across a reboot or a slot change.
#pragma once

#include "rpc/service_state.h"

namespace sbc::mgmt::service {

// Audits the boot events sbc-boot recorded since the last call (kept in
// state.boot_events_file, so each is audited once across restarts of this daemon; a
// crash between the append and that file's write audits one again, never none).
// Quiet when sbc-boot does not answer (sbc-mgmtd run by hand, or sbc-boot busy with
// an install): the next call catches up. Takes the service's lock itself.
void AuditBootEvents(ServiceState& state);

}  // namespace sbc::mgmt::service
