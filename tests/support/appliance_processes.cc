#include "support/appliance_processes.h"

#include <fstream>
#include <regex>

namespace sbc::testing {

ApplianceProcesses::ApplianceProcesses(std::filesystem::path dir, ApplianceBinaries binaries)
    : dir_(std::move(dir)), bin_(std::move(binaries)) {}

std::string ApplianceProcesses::Board() {
  return std::string(SBC_SOURCE_DIR) + "/board/sim.textproto";
}

std::string ApplianceProcesses::Provision() {
  std::filesystem::create_directories(dir_ / "keys");
  const auto key = RunProcess({bin_.sign, "keygen", "--out", Path("signer.key")});
  if (key.exit_code != 0) return "keygen: " + key.err;
  std::ofstream(dir_ / "keys/trust-root.textproto")
      << "environment: DEVELOPMENT\n"
      << key.out.substr(key.out.find("keys {")) << "thresholds { role: CONFIG threshold: 1 }\n";
  std::filesystem::copy_file(std::string(SBC_SOURCE_DIR) + "/board/sim/identity.textproto",
                             dir_ / "keys/identity.textproto");
  const auto provisioned = RunProcess({bin_.mgmtd, "--board", Board(), "--data-dir", dir_.string(),
                                       "--provision-dev", "admin", "--client-dir", Path("client")});
  return provisioned.exit_code == 0 ? "" : "provision: " + provisioned.err;
}

std::string ApplianceProcesses::SignedBundle(const std::string& config_text, int version) {
  const std::string config = Path("config-v" + std::to_string(version) + ".textproto");
  const std::string out = Path("v" + std::to_string(version) + ".bundle");
  std::ofstream(config) << config_text;
  if (RunProcess({bin_.sign, "bundle", "--config", config, "--version", std::to_string(version),
                  "--environment", "development", "--expires", "+1d", "--out", out})
              .exit_code != 0 ||
      RunProcess({bin_.sign, "sign", "--key", Path("signer.key"), "--in", out}).exit_code != 0)
    return "";
  return out;
}

std::unique_ptr<BackgroundProcess> ApplianceProcesses::StartDataplane(
    const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {bin_.dataplane, "--board", Board(), "--data-dir", dir_.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto process = std::make_unique<BackgroundProcess>(
      argv, Path("dataplane-" + std::to_string(++starts_) + ".log"));
  if (process->WaitForLog("forwarding").find("forwarding") == std::string::npos) return nullptr;
  return process;
}

std::unique_ptr<BackgroundProcess> ApplianceProcesses::StartMgmtd(
    std::string* port, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {bin_.mgmtd,    "--board", Board(), "--data-dir",
                                   dir_.string(), "--port",  "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  // A new log per start: never the last run's lines.
  auto process = std::make_unique<BackgroundProcess>(
      argv, Path("mgmtd-" + std::to_string(++starts_) + ".log"));
  const std::string log = process->WaitForLog("control API on");
  std::smatch m;
  if (!std::regex_search(log, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"))) return nullptr;
  *port = m[1];
  return process;
}

}  // namespace sbc::testing
