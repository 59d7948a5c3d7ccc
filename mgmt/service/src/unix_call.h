// One request to a local daemon over a fresh Unix-socket connection and its reply
// (sbc-dataplane, sbc-boot): the links' common part. Private to mgmt/service.
#pragma once

#include <unistd.h>

#include <chrono>
#include <expected>
#include <string>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"

namespace sbc::mgmt::service {

// `peer` names the daemon in errors ("sbc-boot unreachable: ...").
template <class Response, class Request>
std::expected<Response, std::string> CallOverUnix(const std::string& path, const Request& request,
                                                  std::chrono::seconds timeout,
                                                  const std::string& peer) {
  auto fd = control::ConnectUnix(path);
  if (!fd) return std::unexpected(peer + " unreachable: " + fd.error());
  control::FdTransport transport(*fd);
  std::expected<Response, std::string> result = std::unexpected(peer + ": no answer");
  if (control::WriteFrame(transport, request.SerializeAsString())) {
    auto reply = control::ReadFrame(transport, timeout);
    Response response;
    if (reply && response.ParseFromString(*reply))
      result = response;
    else if (!reply)
      result = std::unexpected(peer + ": " + control::FrameErrorText(reply.error()));
  }
  close(*fd);
  return result;
}

}  // namespace sbc::mgmt::service
