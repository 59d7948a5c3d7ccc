#include "sbc/mgmt/service/dataplane_link.h"

#include "unix_call.h"

namespace sbc::mgmt::service {

std::expected<schema::DataplaneResponse, std::string> UnixDataplaneLink::Call(
    const schema::DataplaneRequest& request) {
  // Applying 10,000 rules takes well under a second; allow for a loaded machine.
  return CallOverUnix<schema::DataplaneResponse>(path_, request, std::chrono::seconds(30),
                                                 "dataplane");
}

}  // namespace sbc::mgmt::service
