// What sbc-dataplane answers sbc-mgmtd on its IPC socket, one handler per request
// group: a configuration bundle to apply (verified again here: the dataplane trusts no
// other process to have checked it), media session batches, status and counters. Every
// response carries the rules version in force after the call. Runs on the IPC server's
// thread; tests drive it in-process, without the daemon.
#pragma once

#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "sbc/firmware/dataplane.h"
#include "sbc/firmware/media_service.h"
#include "sbc/firmware/signed_config.h"
#include "sbc/schema/control.pb.h"

namespace sbc::firmware {

class IpcDispatch {
 public:
  // A bundle's exact bytes -> its verified, compiled tables, or why it is refused
  // (sbc-dataplane: VerifyAndCompile with the key store's verifier, the board and the
  // time now).
  using BundleCheck = std::function<std::expected<VerifiedConfig, std::string>(std::string_view)>;
  // One line per event worth the daemon's log (a bundle applied).
  using Log = std::function<void(const std::string&)>;

  IpcDispatch(Dataplane& dataplane, MediaService& media, BundleCheck check, Log log);

  // Any one thread at a time (the IPC server's).
  [[nodiscard]] schema::DataplaneResponse Handle(const schema::DataplaneRequest& request);

 private:
  void ApplyBundle(std::string_view envelope, schema::DataplaneResponse& response);
  void Media(const schema::DataplaneRequest& request, schema::DataplaneResponse& response);
  void Counters(schema::DataplaneResponse& response);

  Dataplane& dataplane_;
  MediaService& media_;
  BundleCheck check_;
  Log log_;
};

}  // namespace sbc::firmware
