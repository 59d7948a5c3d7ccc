// The appliance's own programs run as child processes over one test directory on the
// sim board, as an operator would run them: a development trust root with a signing
// key of the test's own, signed bundles, sbc-dataplane and sbc-mgmtd.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/run_process.h"

namespace sbc::testing {

struct ApplianceBinaries {
  std::string sign, mgmtd, dataplane;
};

class ApplianceProcesses {
 public:
  ApplianceProcesses(std::filesystem::path dir, ApplianceBinaries binaries);

  // keys/trust-root.textproto trusting a new signing key (signer.key), the sim
  // identity, and a development administrator "admin" whose credential is in client/.
  // Returns what went wrong, or "".
  [[nodiscard]] std::string Provision();
  // `config_text` as bundle `version`, signed: the bundle's path, or "" on failure.
  [[nodiscard]] std::string SignedBundle(const std::string& config_text, int version);
  // sbc-dataplane with `extra` arguments, once it forwards; nullptr if it never did.
  [[nodiscard]] std::unique_ptr<BackgroundProcess> StartDataplane(
      const std::vector<std::string>& extra);
  // sbc-mgmtd on a free loopback port (written to *port), once it serves.
  [[nodiscard]] std::unique_ptr<BackgroundProcess> StartMgmtd(
      std::string* port, const std::vector<std::string>& extra = {});

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Board();

 private:
  std::filesystem::path dir_;
  ApplianceBinaries bin_;
  int starts_ = 0;
};

}  // namespace sbc::testing
