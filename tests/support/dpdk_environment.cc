#include "support/dpdk_environment.h"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace sbc::testing {

void DpdkEnvironment::SetUp() {
  std::string lcores = "0@0";
  for (unsigned i = 1; i <= worker_lcores_; ++i)
    lcores +=
        "," + std::to_string(i) + "@(0-" + std::to_string(sysconf(_SC_NPROCESSORS_ONLN) - 1) + ")";
  std::vector<std::string> args = {"sbc-test",
                                   "--no-huge",
                                   "-m",
                                   "512",
                                   "--no-pci",
                                   "--no-shconf",
                                   "--file-prefix=sbc-test-" + std::to_string(getpid()),
                                   "--lcores=" + lcores,
                                   "--main-lcore=0",
                                   "--log-level=*:warning",
                                   "--no-telemetry"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  ASSERT_GE(rte_eal_init(static_cast<int>(args.size()), argv.data()), 0)
      << "EAL init failed: " << rte_strerror(rte_errno);
}

void DpdkEnvironment::TearDown() {
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all(runtime_dir, ec);  // --no-shconf: ours alone
}

}  // namespace sbc::testing
