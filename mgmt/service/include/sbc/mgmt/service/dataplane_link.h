// sbc-mgmtd's side of the IPC with sbc-dataplane. One connection per call, so a
// restarted dataplane is simply found again.
#pragma once

#include <chrono>
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
  // `timeout`: how long a reply may take. Applying 10,000 rules takes well under a
  // second; the default allows for a loaded machine.
  explicit UnixDataplaneLink(std::string socket_path,
                             std::chrono::seconds timeout = std::chrono::seconds(30))
      : path_(std::move(socket_path)), timeout_(timeout) {}
  std::expected<schema::DataplaneResponse, std::string> Call(
      const schema::DataplaneRequest& request) override;

 private:
  std::string path_;
  std::chrono::seconds timeout_;
};

}  // namespace sbc::mgmt::service
