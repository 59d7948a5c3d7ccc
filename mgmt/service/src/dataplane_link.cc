#include "sbc/mgmt/service/dataplane_link.h"

#include "unix_call.h"

namespace sbc::mgmt::service {

std::expected<schema::DataplaneResponse, std::string> UnixDataplaneLink::Call(
    const schema::DataplaneRequest& request) {
  return CallOverUnix<schema::DataplaneResponse>(path_, request, timeout_, "dataplane");
}

}  // namespace sbc::mgmt::service
