#include "sbc/mgmt/service/dataplane_link.h"

#include <unistd.h>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"

namespace sbc::mgmt::service {

std::expected<schema::DataplaneResponse, std::string> UnixDataplaneLink::Call(
    const schema::DataplaneRequest& request) {
  auto fd = control::ConnectUnix(path_);
  if (!fd) return std::unexpected("dataplane unreachable: " + fd.error());
  control::FdTransport transport(*fd);
  std::expected<schema::DataplaneResponse, std::string> result =
      std::unexpected(std::string("dataplane: no answer"));
  if (control::WriteFrame(transport, request.SerializeAsString())) {
    // Applying 10,000 rules takes well under a second; allow for a loaded machine.
    auto reply = control::ReadFrame(transport, std::chrono::seconds(30));
    schema::DataplaneResponse response;
    if (reply && response.ParseFromString(*reply))
      result = response;
    else if (!reply)
      result = std::unexpected(std::string("dataplane: ") + control::FrameErrorText(reply.error()));
  }
  close(*fd);
  return result;
}

}  // namespace sbc::mgmt::service
