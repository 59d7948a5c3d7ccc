// EAL arguments come from the board alone; cores the process may not use are refused
// before EAL sees them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbc/drivers/eal.h"

namespace sbc::drivers {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

board::Board Load(const char* file) {
  auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/" + file);
  EXPECT_TRUE(board.has_value());
  return board.value_or(board::Board{});
}

TEST(EalArgumentsTest, SimBoardRunsWithoutHugepagesOrPci) {
  const auto args = EalArguments(Load("sim.textproto"), {.program = "p", .file_prefix = "t"});
  EXPECT_EQ(args.front(), "p");
  EXPECT_THAT(args, Contains("--no-huge"));
  EXPECT_THAT(args, Contains("--no-pci"));
  EXPECT_THAT(args, Contains("--no-shconf"));
  EXPECT_THAT(args, Contains("--file-prefix=t"));
  EXPECT_THAT(args, Contains("--vdev=crypto_aesni_mb0"));
  // Ring ports are created by drivers/nic from its own rings, not by EAL.
  EXPECT_THAT(args, Not(Contains(HasSubstr("net_ring"))));
  const auto l = std::find(args.begin(), args.end(), "-l");
  ASSERT_NE(l, args.end());
  EXPECT_EQ(*(l + 1), "0,1");
  const auto m = std::find(args.begin(), args.end(), "-m");
  ASSERT_NE(m, args.end());
  EXPECT_EQ(*(m + 1), "512");
}

TEST(EalArgumentsTest, RackBoardAllowListsItsPciDevicesOnly) {
  const auto args = EalArguments(Load("rack-1u-e810.textproto"), {});
  EXPECT_THAT(args, Not(Contains("--no-huge")));
  EXPECT_THAT(args, Not(Contains("--no-pci")));
  std::vector<std::string> allowed;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "-a") allowed.push_back(args[i + 1]);
  EXPECT_THAT(allowed, ::testing::ElementsAre("0000:3b:00.0", "0000:3b:00.1", "0000:3d:00.0"));
  const auto l = std::find(args.begin(), args.end(), "-l");
  ASSERT_NE(l, args.end());
  EXPECT_EQ(*(l + 1), "1,2,3,4,5,6,7,8,9");
}

TEST(EalArgumentsTest, OtherVirtualNicsBecomeVdevArguments) {
  board::Board board = Load("sim.textproto");
  board.mutable_ports(1)->set_vdev("net_pcap1,iface=lo");
  EXPECT_THAT(EalArguments(board, {}), Contains("--vdev=net_pcap1,iface=lo"));
}

TEST(CoreCheckTest, SimBoardCoresAreAvailableHere) {
  // CI and development machines have at least two cores.
  EXPECT_TRUE(CheckCoresAvailable(Load("sim.textproto"), "sim.textproto").has_value());
}

TEST(CoreCheckTest, UnavailableWorkerCoreNamesTheField) {
  board::Board board = Load("sim.textproto");
  board.mutable_cpu()->add_worker_cores(1000);
  auto ok = CheckCoresAvailable(board, "my.textproto");
  ASSERT_FALSE(ok.has_value());
  EXPECT_THAT(ok.error(), HasSubstr("board my.textproto: cpu.worker_cores[1]: core 1000 is not "
                                    "available to this process (available: 0"));
}

TEST(CoreCheckTest, UnavailableMainCoreNamesTheField) {
  board::Board board = Load("sim.textproto");
  board.mutable_cpu()->set_main_core(999);
  auto ok = CheckCoresAvailable(board, "my.textproto");
  ASSERT_FALSE(ok.has_value());
  EXPECT_THAT(ok.error(), HasSubstr("cpu.main_core: core 999 is not available"));
}

}  // namespace
}  // namespace sbc::drivers
