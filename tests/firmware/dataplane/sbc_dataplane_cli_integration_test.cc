// sbc-dataplane as an operator runs it: the sim demo, SIGTERM, and every kind of bad
// input refused with one line and a non-zero exit, never a crash.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/run_process.h"
#include "support/wait.h"

namespace sbc::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kSimBoard = std::string(SBC_SOURCE_DIR) + "/board/sim.textproto";

// Every file and directory a test made in the temp directory, removed when the binary
// ends. Names come from mkstemp/mkdtemp: unique even when a later run reuses a pid.
std::vector<std::filesystem::path>& Made() {
  static std::vector<std::filesystem::path> made;
  return made;
}
class RemoveWhatTestsMade : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ec;
    for (const auto& p : Made()) std::filesystem::remove_all(p, ec);
  }
};
[[maybe_unused]] const auto* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new RemoveWhatTestsMade);

std::filesystem::path UniqueTemp(const std::string& stem, bool directory) {
  std::string pattern = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
  if (directory) {
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
  } else {
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("mkstemp " + pattern);
    close(fd);
  }
  Made().push_back(pattern);
  return pattern;
}

std::string SimBoardWith(const std::string& from, const std::string& to) {
  std::ifstream in(kSimBoard);
  std::ostringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  s.replace(s.find(from), from.size(), to);
  const auto path = UniqueTemp("sbc-cli-board", false);
  std::ofstream(path) << s;
  return path.string();
}

// A data directory whose key store holds the sim board's trust root and identity, as
// tools/run provisions it.
std::string ProvisionedDataDir() {
  const auto dir = UniqueTemp("sbc-cli-data", true);
  std::filesystem::create_directories(dir / "keys");
  for (const char* file : {"trust-root.textproto", "identity.textproto"})
    std::filesystem::copy_file(std::string(SBC_SOURCE_DIR) + "/board/sim/" + file,
                               dir / "keys" / file);
  return dir.string();
}

const std::string kDemoBundle = std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.bundle";

std::vector<std::string> DataplaneArgs(std::vector<std::string> args) {
  // Tests run side by side on the same sim data directory: none takes the IPC socket.
  if (std::find(args.begin(), args.end(), "--ipc-socket") == args.end() && !args.empty())
    args.insert(args.end(), {"--ipc-socket", "none"});
  args.insert(args.begin(), SBC_DATAPLANE_BIN);
  return args;
}

ProcessResult Dataplane(std::vector<std::string> args) {
  return RunProcess(DataplaneArgs(std::move(args)));
}

// A --keep-running dataplane, once it forwards.
std::unique_ptr<BackgroundProcess> RunningDataplane(std::vector<std::string> args) {
  auto process = std::make_unique<BackgroundProcess>(DataplaneArgs(std::move(args)),
                                                     UniqueTemp("sbc-cli-log", false).string());
  EXPECT_THAT(process->WaitForLog("forwarding"), HasSubstr("forwarding"));
  return process;
}

TEST(SbcDataplaneCliTest, SimTrafficCrossesAndEveryFrameIsAccounted) {
  const auto r = Dataplane({"--board", kSimBoard, "--data-dir", ProvisionedDataDir(), "--config",
                            kDemoBundle, "--sim-traffic", "50000", "--sim-runt-every", "100"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sim traffic: sent 50000 frames, 49500 arrived on the peer port, "
                               "500 dropped and counted"));
  EXPECT_THAT(r.out, ContainsRegex("runt_frame +500 "));
  EXPECT_THAT(r.out, HasSubstr("packet buffers still in use after stop: 0"));
}

TEST(SbcDataplaneCliTest, SigtermStopsAKeepRunningDataplaneCleanly) {
  auto dataplane = RunningDataplane({"--board", kSimBoard, "--data-dir", ProvisionedDataDir(),
                                     "--config", kDemoBundle, "--keep-running", "--sim-rate",
                                     "20000", "--stats-interval", "0.5"});
  // Once a counter report shows traffic forwarded, stop it.
  EXPECT_THAT(dataplane->WaitForLog("drops by reason"), HasSubstr("drops by reason"));
  const auto r = dataplane->Stop(SIGTERM);
  EXPECT_EQ(r.signal, 0) << "killed by signal " << r.signal;
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("sim traffic: sent "));
  EXPECT_THAT(r.out, HasSubstr("drops by reason (total 0)"));
  EXPECT_THAT(r.out, HasSubstr("packet buffers still in use after stop: 0"));
}

// A refusal: exit code 2 and exactly one line on stderr.
void ExpectRefused(const ProcessResult& r, const std::string& line) {
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(Lines(r.err), ElementsAre(line));
}

TEST(SbcDataplaneCliTest, WithoutConfigEveryPacketIsDropped) {
  const auto r = Dataplane({"--board", kSimBoard, "--sim-traffic", "1000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no --config: every packet is dropped (fail closed)"));
  EXPECT_THAT(r.out,
              HasSubstr("sim traffic: sent 1000 frames, 0 arrived on the peer port, 1000 dropped"));
  EXPECT_THAT(r.out, ContainsRegex("no_rule_set +1000 "));
}

// The telemetry socket of a running sbc-dataplane with file prefix `prefix`.
std::string TelemetrySocket(const std::string& prefix) {
  std::string base = "/var/run";
  if (geteuid() != 0) base = getenv("XDG_RUNTIME_DIR") ? getenv("XDG_RUNTIME_DIR") : "/tmp";
  return base + "/dpdk/" + prefix + "/dpdk_telemetry.v2";
}

// Sends one telemetry command and returns the JSON reply ("" on failure).
std::string Telemetry(const std::string& socket_path, const std::string& command) {
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", socket_path.c_str());
  std::string reply;
  char buf[65536];
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      read(fd, buf, sizeof(buf)) > 0 &&
      write(fd, command.data(), command.size()) == ssize_t(command.size())) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) reply.assign(buf, size_t(n));
  }
  close(fd);
  return reply;
}

TEST(SbcDataplaneCliTest, CountersAreServedOnDpdkTelemetry) {
  const std::string prefix = "sbc-cli-tel-" + std::to_string(getpid());
  auto dataplane = RunningDataplane({"--board", kSimBoard, "--data-dir", ProvisionedDataDir(),
                                     "--config", kDemoBundle, "--keep-running", "--sim-rate",
                                     "10000", "--sim-runt-every", "10", "--file-prefix", prefix});
  std::string counters, rules;
  // Until runts and carrier RTP have both been counted.
  EXPECT_TRUE(WaitUntil([&] {
    counters = Telemetry(TelemetrySocket(prefix), "/sbc/counters");
    rules = Telemetry(TelemetrySocket(prefix), "/sbc/rules");
    return std::regex_search(counters, std::regex("\"drop_runt_frame\":[1-9]")) &&
           std::regex_search(rules, std::regex("\"carrier_rtp_packets\":[1-9]"));
  }));
  // It holds SRTP keys: no core file may carry them off.
  std::ifstream limits("/proc/" + std::to_string(dataplane->pid()) + "/limits");
  EXPECT_THAT(std::string((std::istreambuf_iterator<char>(limits)), {}),
              ContainsRegex("Max core file size +0 +0 +bytes"));
  const auto run = dataplane->Stop(SIGTERM);
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(counters, HasSubstr("\"/sbc/counters\":{\"rules_version\":1,"));
  EXPECT_THAT(counters, ContainsRegex("\"drop_runt_frame\":[1-9][0-9]*"));
  EXPECT_THAT(counters, ContainsRegex("\"port_wan0_rx_packets\":[1-9][0-9]*"));
  EXPECT_THAT(rules, ContainsRegex("\"carrier_rtp_packets\":[1-9][0-9]*"));
  EXPECT_FALSE(std::filesystem::exists(TelemetrySocket(prefix))) << "runtime directory left behind";
}

TEST(SbcDataplaneCliTest, MissingBoardFileIsRefused) {
  ExpectRefused(Dataplane({"--board", "/nonexistent/sim.textproto"}),
                "sbc-dataplane: board /nonexistent/sim.textproto: no such file");
}

TEST(SbcDataplaneCliTest, InvalidBoardSyntaxIsRefused) {
  const std::string board = SimBoardWith("main_core: 0", "main_core: zero");
  const auto r = Dataplane({"--board", board});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, StartsWith("sbc-dataplane: board " + board + ":"));
}

TEST(SbcDataplaneCliTest, UnknownVirtualDeviceIsRefused) {
  const std::string board = SimBoardWith("net_ring1", "net_foo1");
  ExpectRefused(Dataplane({"--board", board}),
                "sbc-dataplane: board " + board + ": ports[1].vdev: unknown driver \"net_foo\"");
}

TEST(SbcDataplaneCliTest, NoFreeCoreIsRefused) {
  const std::string board = SimBoardWith("worker_cores: [1]", "worker_cores: [900]");
  const auto r = Dataplane({"--board", board});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cpu.worker_cores[0]: core 900 is not available to this process"));
}

TEST(SbcDataplaneCliTest, DeviceThatFailsToProbeEndsWithOneClearLine) {
  // A known driver whose device cannot come up (no such interface): DPDK logs its
  // reasons, and the last line is ours, naming the port.
  const std::string board =
      SimBoardWith("vdev: \"net_ring0\"", "vdev: \"net_pcap0,iface=sbc-no-such-if0\"");
  const auto r = Dataplane({"--board", board});
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_FALSE(Lines(r.err).empty());
  EXPECT_EQ(Lines(r.err).back(),
            "sbc-dataplane: port wan0 (net_pcap0): device was not probed (driver missing, or "
            "absent)");
}

TEST(SbcDataplaneCliTest, SignedDemoConfigIsVerifiedAndCompiled) {
  const auto r = Dataplane({"--board", kSimBoard, "--data-dir", ProvisionedDataDir(), "--config",
                            kDemoBundle, "--sim-traffic", "1000"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("config version 1: 5 rules in 2 zones, verified (1 signature(s)) "
                               "and compiled"));
}

TEST(SbcDataplaneCliTest, TamperedConfigIsRefusedBeforeAnyPortOpens) {
  std::ifstream in(kDemoBundle, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bytes[bytes.size() / 2] ^= 0x20;
  const std::string data_dir = ProvisionedDataDir();
  const std::string tampered = data_dir + "/tampered.bundle";
  std::ofstream(tampered, std::ios::binary) << bytes;
  const auto r = Dataplane({"--board", kSimBoard, "--data-dir", data_dir, "--config", tampered});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("config " + tampered + ": refused ("));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("forwarding")));
}

TEST(SbcDataplaneCliTest, ConfigWithoutATrustRootIsRefused) {
  const auto dir = UniqueTemp("sbc-cli-empty", true);
  const auto r =
      Dataplane({"--board", kSimBoard, "--data-dir", dir.string(), "--config", kDemoBundle});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_THAT(r.err, HasSubstr("trust-root.textproto: no such file"));
}

TEST(SbcDataplaneCliTest, MissingBoardOptionIsAUsageError) {
  const auto r = Dataplane({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err + r.out, HasSubstr("--board is required"));
}

}  // namespace
}  // namespace sbc::testing
