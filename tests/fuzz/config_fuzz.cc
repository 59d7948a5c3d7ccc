// Any bytes as a configuration payload (what a signed bundle carries): validating and
// compiling it must end in a config or a list of errors, never a crash, a read out of
// bounds or undefined behaviour (ASan, UBSan). Signing makes a hostile config unlikely,
// not impossible: a signer's mistake must not take the appliance down.
#include <cstdint>
#include <string>
#include <vector>

#include "sbc/mgmt/config/compile.h"
#include "sbc/mgmt/config/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sbc::schema::ApplianceConfig config;
  if (!config.ParseFromArray(data, static_cast<int>(size))) return -1;
  (void)sbc::mgmt::config::ValidateConfig(config);
  // The board's ports as the config names them, so compiling goes past that check.
  std::vector<std::string> ports;
  for (const auto& interface : config.interfaces()) ports.push_back(interface.port());
  (void)sbc::mgmt::config::CompileConfig(config, 1, ports);
  return 0;
}
