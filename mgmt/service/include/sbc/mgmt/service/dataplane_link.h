// sbc-mgmtd's side of the IPC with sbc-dataplane. One connection per call, so a
// restarted dataplane is simply found again.
#pragma once

#include <expected>
#include <string>

#include "sbc/schema/control.pb.h"

namespace sbc::mgmt::service {

// Call may run on several threads at once: the control service makes its dataplane
// calls without its lock, so that a slow dataplane stalls only the calls that need it.
class DataplaneLink {
 public:
  virtual ~DataplaneLink() = default;
  [[nodiscard]] virtual std::expected<schema::DataplaneResponse, std::string> Call(
      const schema::DataplaneRequest& request) = 0;
};

class UnixDataplaneLink final : public DataplaneLink {
 public:
  explicit UnixDataplaneLink(std::string socket_path) : path_(std::move(socket_path)) {}
  std::expected<schema::DataplaneResponse, std::string> Call(
      const schema::DataplaneRequest& request) override;

 private:
  std::string path_;
};

}  // namespace sbc::mgmt::service
