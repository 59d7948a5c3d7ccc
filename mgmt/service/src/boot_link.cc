#include "sbc/mgmt/service/boot_link.h"

#include "unix_call.h"

namespace sbc::mgmt::service {

std::expected<schema::BootResponse, std::string> UnixBootLink::Call(
    const schema::BootRequest& request) {
  // An install verifies every file of the image and writes the slot: seconds for a
  // large image on a loaded machine; allow plenty. Asking for events reads one small
  // file: an sbc-boot that does not answer that soon is busy, and asked again later.
  const std::chrono::seconds timeout(request.has_events_after() ? 5 : 120);
  return CallOverUnix<schema::BootResponse>(path_, request, timeout, "sbc-boot");
}

}  // namespace sbc::mgmt::service
