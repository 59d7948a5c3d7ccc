#include "sbc/mgmt/service/boot_link.h"

#include "unix_call.h"

namespace sbc::mgmt::service {

std::expected<schema::BootResponse, std::string> UnixBootLink::Call(
    const schema::BootRequest& request) {
  // An install verifies every file of the image and writes the slot: seconds for a
  // large image on a loaded machine; allow plenty.
  return CallOverUnix<schema::BootResponse>(path_, request, std::chrono::seconds(120), "sbc-boot");
}

}  // namespace sbc::mgmt::service
