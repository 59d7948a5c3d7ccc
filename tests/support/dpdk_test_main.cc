// main() for DPDK test binaries: registers the one EAL environment, then runs the tests.
#include <gtest/gtest.h>

#include "support/dpdk_environment.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new sbc::testing::DpdkEnvironment());
  return RUN_ALL_TESTS();
}
