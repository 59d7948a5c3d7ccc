// The board loader: the shipped boards load, and each kind of invalid file is refused
// with a line naming the file, the field path and the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sbc/board/board.h"

namespace sbc::board {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::filesystem::path kBoards = std::filesystem::path(SBC_SOURCE_DIR) / "board";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::filesystem::path TestDir() {
  return std::filesystem::temp_directory_path() / ("sbc-board-test-" + std::to_string(getpid()));
}

// Removes this process's board files when the tests end.
class RemoveTestDir : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(TestDir(), ec);
  }
};
[[maybe_unused]] const auto* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new RemoveTestDir);

// Writes `text` to a fresh file named `name` in this process's temp dir.
std::filesystem::path WriteBoard(const std::string& name, const std::string& text) {
  const auto dir = TestDir();
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path) << text;
  return path;
}

// The sim board with `from` replaced by `to` (which must occur).
std::string SimWith(const std::string& from, const std::string& to) {
  std::string text = ReadFile(kBoards / "sim.textproto");
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "sim.textproto has no " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(BoardLoaderTest, SimBoardLoads) {
  auto board = LoadBoard(kBoards / "sim.textproto");
  ASSERT_TRUE(board.has_value()) << ::testing::PrintToString(board.error());
  EXPECT_EQ(board->name(), "sim");
  EXPECT_FALSE(board->memory().hugepages());
  ASSERT_EQ(board->ports_size(), 2);
  EXPECT_EQ(VdevDriver(board->ports(0).vdev()), "net_ring");
  EXPECT_EQ(board->crypto().vdev(), "crypto_aesni_mb0");
  EXPECT_EQ(ResolveStoragePath(*board, board->storage().slot_a().path()),
            std::filesystem::path("var/sim/flash/slot-a.img"));
  EXPECT_EQ(BootAttempts(*board), 3u);
}

TEST(BoardLoaderTest, RackBoardLoads) {
  auto board = LoadBoard(kBoards / "rack-1u-e810.textproto");
  ASSERT_TRUE(board.has_value()) << ::testing::PrintToString(board.error());
  EXPECT_TRUE(board->memory().hugepages());
  EXPECT_EQ(board->cpu().worker_cores_size(), 8);
  EXPECT_EQ(board->ports(1).pci(), "0000:3b:00.1");
  EXPECT_EQ(ResolveStoragePath(*board, board->storage().key_store()),
            std::filesystem::path("/var/lib/sbc/keys"));
}

TEST(BoardLoaderTest, EveryShippedBoardValidates) {
  int boards = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kBoards)) {
    if (entry.path().extension() != ".textproto") continue;
    ++boards;
    auto board = LoadBoard(entry.path());
    EXPECT_TRUE(board.has_value())
        << entry.path() << ": " << ::testing::PrintToString(board.error());
  }
  EXPECT_GE(boards, 2);
}

TEST(BoardLoaderTest, MissingFileIsNamed) {
  auto board = LoadBoard("no/such/board.textproto");
  ASSERT_FALSE(board.has_value());
  EXPECT_THAT(board.error(), ElementsAre("board no/such/board.textproto: no such file"));
}

TEST(BoardLoaderTest, SyntaxErrorNamesLineAndColumn) {
  const auto path = WriteBoard("syntax.textproto", "name: \"x\"\ncpu {\n  main_core: zero\n}\n");
  auto board = LoadBoard(path);
  ASSERT_FALSE(board.has_value());
  ASSERT_EQ(board.error().size(), 1u);
  EXPECT_THAT(board.error()[0], HasSubstr("board " + path.string() + ":3:14: "));
}

TEST(BoardLoaderTest, UnknownFieldIsRefused) {
  const auto path =
      WriteBoard("unknown.textproto", SimWith("ports { name: \"wan0\"", "ports { nmae: \"wan0\""));
  auto board = LoadBoard(path);
  ASSERT_FALSE(board.has_value());
  EXPECT_THAT(board.error()[0], HasSubstr("has no field named \"nmae\""));
}

TEST(BoardLoaderTest, EmptyFileReportsEveryMissingSection) {
  const auto path = WriteBoard("empty.textproto", "");
  auto board = LoadBoard(path);
  ASSERT_FALSE(board.has_value());
  const std::string p = "board " + path.string() + ": ";
  EXPECT_THAT(board.error(),
              ElementsAre(p + "name: is required", p + "cpu: is required",
                          p + "memory: is required", p + "ports: needs at least two data ports",
                          p + "port_pairs: needs at least one port pair",
                          p + "crypto: needs a device: vdev or pci", p + "storage: is required",
                          p + "watchdog: is required"));
}

// One invalid edit of the sim board and the one line it must produce.
struct InvalidCase {
  const char* label;
  const char* from;
  const char* to;
  const char* error;           // after "board <file>: "
  const char* also = nullptr;  // a second error the same edit causes, if any
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.label; }

class InvalidBoardTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidBoardTest, IsRefusedWithFieldPathAndReason) {
  const InvalidCase& c = GetParam();
  const auto path = WriteBoard(std::string(c.label) + ".textproto", SimWith(c.from, c.to));
  auto board = LoadBoard(path);
  ASSERT_FALSE(board.has_value()) << c.label << " was accepted";
  const std::string prefix = "board " + path.string() + ": ";
  if (c.also == nullptr)
    EXPECT_THAT(board.error(), ElementsAre(prefix + c.error));
  else
    EXPECT_THAT(board.error(), ElementsAre(prefix + c.error, prefix + c.also));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InvalidBoardTest,
    ::testing::Values(
        InvalidCase{"unknown_vdev", "net_ring1", "net_foo1",
                    "ports[1].vdev: unknown driver \"net_foo\""},
        InvalidCase{"vdev_no_instance", "net_ring1", "net_ring",
                    "ports[1].vdev: \"net_ring\" needs an instance number, e.g. net_ring0"},
        InvalidCase{"duplicate_vdev", "net_ring1", "net_ring0",
                    "ports[1].vdev: \"net_ring0\" is used by another port"},
        InvalidCase{"no_device", "vdev: \"net_ring1\" ", "",
                    "ports[1]: needs a device: vdev or pci"},
        InvalidCase{"bad_pci", "vdev: \"net_ring1\"", "pci: \"3b:00.1\"",
                    "ports[1].pci: \"3b:00.1\" is not a PCI address like 0000:3b:00.0"},
        InvalidCase{"bad_port_name", "name: \"lan0\"", "name: \"LAN 0\"",
                    "ports[1].name: \"LAN 0\" is not a port name ([a-z][a-z0-9-]{0,14})",
                    "port_pairs[0].b: no port named \"lan0\""},
        InvalidCase{"duplicate_port_name", "name: \"lan0\" vdev", "name: \"wan0\" vdev",
                    "ports[1].name: \"wan0\" is used by another port",
                    "port_pairs[0].b: no port named \"lan0\""},
        InvalidCase{"descriptors_not_power_of_two", "vdev: \"net_ring1\" rx_descriptors: 1024",
                    "vdev: \"net_ring1\" rx_descriptors: 1000",
                    "ports[1].rx_descriptors: 1000 is not a power of two in [64, 4096]"},
        InvalidCase{"mtu_too_big", "tx_descriptors: 1024 }\nports { name: \"lan0\"",
                    "tx_descriptors: 1024 mtu: 9600 }\nports { name: \"lan0\"",
                    "ports[0].mtu: 9600 is outside [68, 9000]"},
        InvalidCase{"pair_unknown_port", "b: \"lan0\"", "b: \"lan9\"",
                    "port_pairs[0].b: no port named \"lan9\""},
        InvalidCase{"pair_with_itself", "b: \"lan0\"", "b: \"wan0\"",
                    "port_pairs[0].b: port \"wan0\" cannot be paired with itself"},
        InvalidCase{"no_workers", "worker_cores: [1]", "",
                    "cpu.worker_cores: needs at least one worker core"},
        InvalidCase{"worker_is_main", "worker_cores: [1]", "worker_cores: [0]",
                    "cpu.worker_cores[0]: core 0 is already the main core"},
        InvalidCase{"worker_twice", "worker_cores: [1]", "worker_cores: [1, 1]",
                    "cpu.worker_cores[1]: core 1 is listed twice"},
        InvalidCase{"too_little_memory", "size_mb: 512", "size_mb: 16",
                    "memory.size_mb: 16 is outside [64, 1048576]"},
        InvalidCase{"unknown_crypto", "crypto_aesni_mb0", "crypto_foo0",
                    "crypto.vdev: unknown crypto driver \"crypto_foo\""},
        InvalidCase{"same_flash_slots", "flash/slot-b.img", "flash/slot-a.img",
                    "storage.slot_b.path: is the same as slot_a's"},
        InvalidCase{"slot_without_size", "file_backed: true size_mb: 256 }\n  key_store",
                    "file_backed: true }\n  key_store",
                    "storage.slot_b.size_mb: a file-backed slot needs a size"},
        InvalidCase{"too_many_boot_attempts", "key_store: \"keys\"",
                    "key_store: \"keys\" boot_attempts: 11",
                    "storage.boot_attempts: must be between 1 and 10 (0: the default, 3)"},
        InvalidCase{"watchdog_timeout", "timeout_s: 30", "timeout_s: 0",
                    "watchdog.timeout_s: 0 is outside [1, 600]"},
        InvalidCase{"duplicate_led", "name: \"alarm\"", "name: \"status\"",
                    "leds[1].name: \"status\" is used by another LED"}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

TEST(VdevTest, SplitsDriverAndInstance) {
  EXPECT_EQ(VdevDriver("net_pcap0,iface=eth1"), "net_pcap");
  EXPECT_EQ(VdevName("net_pcap0,iface=eth1"), "net_pcap0");
  EXPECT_EQ(VdevDriver("crypto_aesni_mb12"), "crypto_aesni_mb");
  EXPECT_EQ(VdevDriver("net_ring"), "net_ring");
}

}  // namespace
}  // namespace sbc::board
