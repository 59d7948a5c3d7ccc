// DPDK's EAL initialises once per process, so each DPDK test binary registers this one
// gtest Environment (from its main) and every test in it shares EAL. Without hugepages,
// without PCI, with a per-process file prefix, so `ctest -j` runs binaries side by side.
#pragma once

#include <gtest/gtest.h>

namespace sbc::testing {

class DpdkEnvironment final : public ::testing::Environment {
 public:
  // Lcore 0 is the main (control) lcore; lcores 1..worker_lcores are workers, all free
  // to float over the machine's CPUs (a 2-core CI machine runs 2 workers this way).
  explicit DpdkEnvironment(unsigned worker_lcores = 2) : worker_lcores_(worker_lcores) {}
  void SetUp() override;
  void TearDown() override;

 private:
  unsigned worker_lcores_;
};

}  // namespace sbc::testing
