// sbc-mgmtd's side of the IPC with sbc-boot, which owns the slots and the boot state:
// the firmware RPCs are requests to it. One connection per call, as with the dataplane.
#pragma once

#include <expected>
#include <string>

#include "sbc/schema/firmware.pb.h"

namespace sbc::mgmt::service {

// Call may run on several threads at once (the firmware RPCs run without the
// service's lock, since an install verifies and writes a whole image).
class BootLink {
 public:
  virtual ~BootLink() = default;
  [[nodiscard]] virtual std::expected<schema::BootResponse, std::string> Call(
      const schema::BootRequest& request) = 0;
};

class UnixBootLink final : public BootLink {
 public:
  explicit UnixBootLink(std::string socket_path) : path_(std::move(socket_path)) {}
  std::expected<schema::BootResponse, std::string> Call(
      const schema::BootRequest& request) override;

 private:
  std::string path_;
};

}  // namespace sbc::mgmt::service
