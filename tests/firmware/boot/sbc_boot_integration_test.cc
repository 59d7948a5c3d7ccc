// sbc-boot as the sim appliance runs it: the real sbc-mgmtd and sbc-dataplane started
// from the verified slot, the health check that marks the slot good, and an update
// whose dataplane exits at start: each boot of it ends in a crash loop and a reboot,
// until its attempts are used up and the previous slot boots by itself. And the update
// as an operator makes it: uploaded and activated with sbcctl over TLS, committed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <regex>

#include "boot_fixture.h"
#include "sbc/firmware/rauc.h"
#include "sbc/mgmt/image/digest.h"
#include "sbc/schema/control.pb.h"
#include "support/run_process.h"
#include "support/wait.h"

namespace sbc::firmware {
namespace {

using testing::BackgroundProcess;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ProcessResult;
using testing::RunProcess;

namespace fs = std::filesystem;

constexpr int kExitReboot = 3;

class SbcBootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ProcessResult provisioned =
        RunProcess({SBC_MGMTD_BIN, "--board", sim_.board_file().string(), "--provision-dev",
                    "admin", "--client-dir", (sim_.dir() / "client").string()});
    ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err;
  }

  // An image of the real daemons; `dataplane_script` replaces sbc-dataplane if given.
  std::string RealImage(const std::string& name, uint64_t index,
                        const std::string& dataplane_script = "") const {
    const fs::path root = sim_.dir() / ("real-" + name);
    fs::create_directories(root / "bin");
    fs::copy_file(SBC_MGMTD_BIN, root / "bin/sbc-mgmtd");
    if (dataplane_script.empty()) {
      fs::copy_file(SBC_DATAPLANE_BIN, root / "bin/sbc-dataplane");
    } else {
      std::ofstream(root / "bin/sbc-dataplane") << dataplane_script;
      fs::permissions(root / "bin/sbc-dataplane", fs::perms(0755));
    }
    return testing::MakeImage(root,
                              {.version = index, .version_name = name, .rollback_index = index},
                              {&sim_.signers().firmware_key(0)});
  }

  std::vector<std::string> BootArgs() const {
    return {
        SBC_BOOT_BIN,         "--board", sim_.board_file().string(), "boot", "--mgmtd-arg=--port=0",
        "--first-backoff-ms", "1",       "--crash-loop-exits",       "3"};
  }

  static std::string ReadFile(const fs::path& file) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string ReadStatus() const {
    std::ifstream in(sim_.appliance().run_dir / "boot-status");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // The sim board with a 5 s watchdog, powered on with BootArgs()' options and slot A
  // holding v1.
  std::unique_ptr<BackgroundProcess> PowerOnWithAShortWatchdog() {
    std::string board = ReadFile(sim_.board_file());
    board.replace(board.find("timeout_s: 30"), 13, "timeout_s: 5");
    std::ofstream(sim_.board_file(), std::ios::trunc) << board;
    sim_.Flash(kSlotA, RealImage("v1", 1));
    std::vector<std::string> argv = {SBC_BOOT_BIN, "--board", sim_.board_file().string(),
                                     "power-on", "--"};
    const std::vector<std::string> boot = BootArgs();
    argv.insert(argv.end(), boot.begin() + 4, boot.end());  // the options after "boot"
    return std::make_unique<BackgroundProcess>(argv, (sim_.dir() / "board.log").string());
  }

  SimAppliance sim_;
};

// The process whose executable is `exe`, or 0.
pid_t ProcessRunning(const fs::path& exe) {
  for (const fs::directory_entry& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    if (fs::read_symlink(entry.path() / "exe", ec) == exe) return std::stoi(name);
  }
  return 0;
}

std::string ThreadName(pid_t pid, const std::string& tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + tid + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// The first thread of `pid` whose name holds `part` (DPDK names its lcore threads), or 0.
pid_t ThreadNamed(pid_t pid, const std::string& part) {
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    const std::string tid = task.path().filename().string();
    if (ThreadName(pid, tid).find(part) != std::string::npos) return std::stoi(tid);
  }
  return 0;
}

std::string ThreadNames(pid_t pid) {
  std::string names;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task"))
    names += ThreadName(pid, task.path().filename().string()) + " ";
  return names;
}

// One thread of another process held still, as a debugger holds it (PTRACE_SEIZE and
// PTRACE_INTERRUPT stop that thread alone); let go, or reaped once its process died.
class HeldThread {
 public:
  explicit HeldThread(pid_t tid) : tid_(tid) {
    if (ptrace(PTRACE_SEIZE, tid_, nullptr, nullptr) != 0) {
      error_ = std::string("PTRACE_SEIZE: ") + strerror(errno);
      return;
    }
    int status = 0;
    if (ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0 ||
        waitpid(tid_, &status, __WALL) != tid_ || !WIFSTOPPED(status)) {
      error_ = std::string("PTRACE_INTERRUPT: ") + strerror(errno);
      return;
    }
    holding_ = true;
  }
  ~HeldThread() {
    if (!holding_ && error_.rfind("PTRACE_SEIZE", 0) == 0) return;
    // Alive still: let it run on. Killed with its process: its end is ours to reap.
    (void)ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
    (void)testing::WaitUntil(
        [&] {
          int status = 0;
          const pid_t reaped = waitpid(tid_, &status, __WALL | WNOHANG);
          return reaped == tid_ || (reaped < 0 && errno == ECHILD);
        },
        std::chrono::seconds(10));
  }
  HeldThread(const HeldThread&) = delete;
  HeldThread& operator=(const HeldThread&) = delete;
  bool holding() const { return holding_; }
  const std::string& error() const { return error_; }

 private:
  pid_t tid_;
  bool holding_ = false;
  std::string error_;
};

TEST_F(SbcBootTest, TheSlotRunsBothPlanesAndIsMarkedGoodOnceTheyAnswer) {
  sim_.Flash(kSlotA, RealImage("v1", 1));
  BackgroundProcess boot(BootArgs(), (sim_.dir() / "boot.log").string());
  const std::string log = boot.WaitForLog("marked good");
  ASSERT_THAT(log, HasSubstr("health check passed: both planes answer; slot A marked good; no "
                             "config pushed yet"));
  EXPECT_EQ(ReadStatus(), "slot: A\nimage: v1\nbuild: 1\nhealth: healthy\n");
  EXPECT_EQ(sim_.State().attempts_left().at("A"), sim_.appliance().boot_attempts);
  const ProcessResult stopped = boot.Stop(SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.out;
  EXPECT_THAT(stopped.out, HasSubstr("sbc-boot: stopped"));
  // Each plane ended by itself on SIGTERM, none killed at the end of the grace (as a
  // sbc-mgmtd waiting on a call to the stopping sbc-boot once was).
  EXPECT_THAT(ReadFile(sim_.appliance().run_dir / "sbc-mgmtd.log"),
              HasSubstr("sbc-mgmtd: stopped"));
}

TEST_F(SbcBootTest, AnUpdateWhoseDataplaneNeverStartsRevertsByItselfAndRaisesTheAlarm) {
  sim_.Flash(kSlotA, RealImage("v1", 1));
  ASSERT_TRUE(MarkGood(sim_.appliance(), sim_.Trust(), kSlotA, 0).has_value());
  // v2's install, as RAUC makes it: B marked bad, written, made primary.
  ASSERT_TRUE(RunBootloaderBackend(sim_.appliance(), {"set-state", "B", "bad"}, 0).has_value());
  ASSERT_TRUE(FlashSlot(sim_.appliance(), sim_.Trust(), kSlotB,
                        RealImage("v2", 2, "#!/bin/sh\necho 'v2 cannot start' >&2\nexit 1\n"))
                  .has_value());
  ASSERT_TRUE(RunBootloaderBackend(sim_.appliance(), {"set-primary", "B"}, 0).has_value());

  // Whatever runs sbc-boot (systemd, tools/run) starts it again after a reboot exit.
  for (uint32_t boot = 0; boot < sim_.appliance().boot_attempts; ++boot) {
    const ProcessResult run = RunProcess(BootArgs());
    ASSERT_EQ(run.exit_code, kExitReboot) << "boot " << boot << ": " << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr("booting slot B: image v2"));
    EXPECT_THAT(run.out, HasSubstr("sbc-dataplane exited with status 1"));
    EXPECT_THAT(run.out, HasSubstr("crash loop"));
    EXPECT_THAT(run.out, HasSubstr("slot B did not become healthy; rebooting"));
  }
  std::ifstream led(sim_.appliance().data_dir / "leds/alarm");
  std::string lit;
  led >> lit;
  EXPECT_EQ(lit, "1");

  BackgroundProcess reverted(BootArgs(), (sim_.dir() / "reverted.log").string());
  const std::string log = reverted.WaitForLog("marked good");
  EXPECT_THAT(log, HasSubstr("booting slot A: image v1"));
  EXPECT_THAT(log, HasSubstr("slot A marked good"));
  EXPECT_EQ(RunBootloaderBackend(sim_.appliance(), {"get-state", "B"}, 0).value(), "bad\n");
  int crash_loops = 0;
  const schema::BootState state = sim_.State();
  for (const schema::BootEvent& event : state.events())
    crash_loops += event.slot() == "B" && event.what().starts_with("crash loop");
  EXPECT_EQ(crash_loops, static_cast<int>(sim_.appliance().boot_attempts));
}

// The update over the control API: v1 runs on the sim board; sbcctl uploads v2 over
// mutually authenticated TLS (sbc-mgmtd stages it, sbc-boot verifies and installs it to
// slot B) and activates it; the board reboots into v2, on trial; once healthy it is
// committed, which raises the rollback index. Each step is in the audit log. Then v3,
// whose dataplane cannot start, is activated the same way and reverts to v2 by itself.
TEST_F(SbcBootTest, AnUpdateActivatedWithSbcctlIsCommittedAndAFailingOneRevertsByItself) {
  sim_.Flash(kSlotA, RealImage("v1", 1));
  const fs::path v2 = sim_.dir() / "v2.img";
  std::ofstream(v2, std::ios::binary) << RealImage("v2", 2);
  std::vector<std::string> argv = {SBC_BOOT_BIN, "--board", sim_.board_file().string(), "power-on",
                                   "--"};
  const std::vector<std::string> boot = BootArgs();
  argv.insert(argv.end(), boot.begin() + 4, boot.end());
  BackgroundProcess board(argv, (sim_.dir() / "board.log").string());
  ASSERT_THAT(board.WaitForLog("marked good"), HasSubstr("booting slot A: image v1"));

  // The port of the sbc-mgmtd started last (the log is appended to across boots).
  auto sbcctl = [&](std::vector<std::string> args) {
    const std::string log = ReadFile(sim_.appliance().run_dir / "sbc-mgmtd.log");
    std::string port;
    const std::regex listening("control API on 127\\.0\\.0\\.1:([0-9]+)");
    for (auto it = std::sregex_iterator(log.begin(), log.end(), listening);
         it != std::sregex_iterator(); ++it)
      port = (*it)[1];
    const fs::path client = sim_.dir() / "client";
    std::vector<std::string> command = {SBCCTL_BIN,
                                        "--connect",
                                        "127.0.0.1:" + port,
                                        "--ca",
                                        (client / "ca.pem").string(),
                                        "--cert",
                                        (client / "admin.pem").string(),
                                        "--key",
                                        (client / "admin.key").string()};
    command.insert(command.end(), args.begin(), args.end());
    return RunProcess(command);
  };
  // An upload cut after its first 512 KiB (the connection dropped), as sbc-mgmtd left
  // it on disk: sbcctl asks where it stands and sends only the rest.
  const std::string image = ReadFile(v2);
  {
    const fs::path staged = sim_.appliance().data_dir / "mgmt/firmware-upload";
    fs::create_directories(staged);
    schema::FirmwareUpload announced;
    announced.set_image_sha256(mgmt::image::Sha256(image));
    announced.set_image_size(image.size());
    std::ofstream(staged / "upload.meta", std::ios::binary) << announced.SerializeAsString();
    std::ofstream(staged / "upload.img", std::ios::binary) << image.substr(0, 512 * 1024);
  }
  const ProcessResult uploaded = sbcctl({"firmware", "upload", v2.string(), "--chunk-kib", "512"});
  ASSERT_EQ(uploaded.exit_code, 0) << uploaded.out << uploaded.err;
  EXPECT_THAT(uploaded.err, HasSubstr("resuming the upload of " + v2.string() + " at byte 524288"));
  EXPECT_THAT(uploaded.out, HasSubstr("installed image v2 (build 2, rollback index 2) to slot B; "
                                      "running image v1 (build 1, rollback index 1) in slot A"));
  EXPECT_THAT(uploaded.out, HasSubstr("slot B: image v2 (build 2, rollback index 2), 0 boot"));

  const ProcessResult activated = sbcctl({"firmware", "activate"});
  ASSERT_EQ(activated.exit_code, 0) << activated.out << activated.err;
  EXPECT_THAT(activated.out, HasSubstr("activated image v2"));
  const std::string trial = board.WaitForLog("is on trial until committed");
  EXPECT_THAT(trial, HasSubstr("sim board: power on (boot 2)"));
  EXPECT_THAT(trial, HasSubstr("booting slot B: image v2"));
  EXPECT_EQ(ReadStatus(), "slot: B\nimage: v2\nbuild: 2\nhealth: healthy\n");
  EXPECT_EQ(sim_.State().trial(), "B");

  // The new sbc-mgmtd answers once it wrote its port; commit when it does.
  ProcessResult committed;
  ASSERT_TRUE(testing::WaitUntil([&] {
    committed = sbcctl({"firmware", "commit"});
    return committed.exit_code == 0;
  })) << committed.out
      << committed.err;
  EXPECT_THAT(committed.out, HasSubstr("committed image v2 (build 2, rollback index 2) in slot B"));
  EXPECT_THAT(committed.out, HasSubstr("committed rollback index 2"));
  const ProcessResult status = sbcctl({"firmware", "status"});
  EXPECT_THAT(status.out, HasSubstr("slot B: image v2 (build 2, rollback index 2), booted, boots "
                                    "next, 3 boot attempt(s) left"));
  // The committed index retires v1: slot A is no fallback any more, and says why.
  EXPECT_THAT(status.out,
              HasSubstr("slot A: no bootable image: refused (rollback_index_too_low): image v1"));
  const ProcessResult verified = sbcctl({"firmware", "verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("integrity check of slot B (image v2 (build 2, rollback "
                                      "index 2)): 0 finding(s)"));

  // v3, whose dataplane exits at start: activated, it never passes its health check;
  // each boot of it ends in a crash loop and a reboot, and after its attempts the board
  // boots v2 again by itself.
  const fs::path v3 = sim_.dir() / "v3.img";
  std::ofstream(v3, std::ios::binary)
      << RealImage("v3", 3, "#!/bin/sh\necho 'v3 cannot start' >&2\nexit 1\n");
  const ProcessResult uploaded_v3 = sbcctl({"firmware", "upload", v3.string()});
  ASSERT_EQ(uploaded_v3.exit_code, 0) << uploaded_v3.out << uploaded_v3.err;
  ASSERT_EQ(sbcctl({"firmware", "activate"}).exit_code, 0);
  ASSERT_TRUE(testing::WaitUntil([&] {
    const std::string log = board.Log();
    const size_t activated_v3 = log.find("activated image v3");
    return activated_v3 != std::string::npos &&
           log.find("slot B marked good", activated_v3) != std::string::npos;
  })) << board.Log();
  const std::string reverted = board.Log().substr(board.Log().find("activated image v3"));
  EXPECT_THAT(reverted, HasSubstr("booting slot A: image v3"));
  EXPECT_THAT(reverted, HasSubstr("slot A did not become healthy; rebooting"));
  EXPECT_THAT(reverted, HasSubstr("booting slot B: image v2"));
  EXPECT_EQ(sim_.State().trial(), "");
  EXPECT_FALSE(IsGood(sim_.State(), kSlotA));

  const ProcessResult audit = sbcctl({"audit", "show"});
  EXPECT_THAT(audit.out, ::testing::ContainsRegex(
                             "FIRMWARE_UPLOAD OK  firmware upload sha256:[0-9a-f]{16}: installed "
                             "image v2 \\(build 2, rollback index 2\\) to slot B"));
  EXPECT_THAT(audit.out, HasSubstr("FIRMWARE_ACTIVATE OK  activated image v2 (build 2, rollback "
                                   "index 2) in slot B, replacing image v1"));
  EXPECT_THAT(audit.out, HasSubstr("FIRMWARE_COMMIT OK  committed image v2"));
  // sbc-boot's own events too, audited by the sbc-mgmtd that runs after them: v3's
  // crash loops (faults) and the boot of v2 that followed them.
  ProcessResult events;
  ASSERT_TRUE(testing::WaitUntil([&] {
    events = sbcctl({"audit", "show"});
    return events.out.find("slot A: crash loop") != std::string::npos &&
           events.out.find("slot B: marked good") != std::string::npos;
  })) << events.out;
  EXPECT_THAT(events.out,
              ::testing::ContainsRegex("sbc-boot FIRMWARE_EVENT FAILED  boot event [0-9]+ at "
                                       "[-0-9T:.]+Z, slot A: crash loop: a plane keeps exiting"));
  EXPECT_THAT(events.out, ::testing::ContainsRegex(
                              "sbc-boot FIRMWARE_EVENT OK  boot event [0-9]+ at [-0-9T:.]+Z, "
                              "slot B: activated image v2 \\(build 2, rollback index 2\\)"));
  const ProcessResult intact = sbcctl({"audit", "verify"});
  EXPECT_EQ(intact.exit_code, 0) << intact.out << intact.err;
  const ProcessResult off = board.Stop(SIGTERM);
  EXPECT_EQ(off.exit_code, 0);
}

// A byte changed in an installed binary (replaced on disk, as a running executable
// cannot be written in place): the integrity check (SIGUSR1: now) reports it, and once
// the daemon ends the changed binary is never started.
TEST_F(SbcBootTest, ATamperedBinaryIsReportedAndNeverStartedAgain) {
  sim_.Flash(kSlotA, RealImage("v1", 1));
  BackgroundProcess boot(BootArgs(), (sim_.dir() / "boot.log").string());
  ASSERT_THAT(boot.WaitForLog("marked good"), HasSubstr("slot A marked good"));

  const fs::path binary = sim_.appliance().run_dir / "slot-A/bin/sbc-dataplane";
  const fs::path replacement = binary.string() + ".evil";
  fs::copy_file(binary, replacement);
  {
    std::fstream file(replacement, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);
    file.put('\x90');
  }
  fs::permissions(replacement, fs::perms(0755));
  fs::rename(replacement, binary);

  kill(boot.pid(), SIGUSR1);
  EXPECT_THAT(boot.WaitForLog("integrity alarm"),
              HasSubstr("integrity alarm: slot A files: bin/sbc-dataplane: SHA-256"));
  const ProcessResult killed = RunProcess({"/usr/bin/pkill", "-KILL", "-f", binary.string()});
  ASSERT_EQ(killed.exit_code, 0) << killed.err;
  EXPECT_THAT(boot.WaitForLog("refused to start"),
              HasSubstr("refused to start sbc-dataplane: bin/sbc-dataplane: SHA-256"));
  std::ifstream led(sim_.appliance().data_dir / "leds/alarm");
  std::string lit;
  led >> lit;
  EXPECT_EQ(lit, "1");
  EXPECT_EQ(ReadStatus(), "slot: A\nimage: v1\nbuild: 1\nhealth: integrity alarm\n");
  const ProcessResult stopped = boot.Stop(SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0);
  EXPECT_THAT(stopped.out, Not(HasSubstr("sbc-dataplane restarted")));
}

// A wedged plane (SIGSTOP) is not alive: sbc-boot stops kicking the watchdog, the sim
// board resets (the stopped daemon dies with sbc-boot), the reset costs the slot an
// attempt, and the next boot is healthy again.
TEST_F(SbcBootTest, AWedgedDaemonEndsInAWatchdogReset) {
  std::unique_ptr<BackgroundProcess> powered = PowerOnWithAShortWatchdog();
  BackgroundProcess& board = *powered;
  ASSERT_THAT(board.WaitForLog("marked good"), HasSubstr("sim board: power on (boot 1)"));

  const fs::path mgmtd = sim_.appliance().run_dir / "slot-A/bin/sbc-mgmtd";
  const ProcessResult stopped = RunProcess({"/usr/bin/pkill", "-STOP", "-f", mgmtd.string()});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  const std::string reset = board.WaitForLog("power on (boot 2)");
  EXPECT_THAT(reset, HasSubstr("not alive: sbc-mgmtd is stopped: watchdog not kicked"));
  EXPECT_THAT(reset, HasSubstr("sim board: watchdog reset: not kicked for"));
  ASSERT_TRUE(testing::WaitUntil([&] {
    const std::string log = board.Log();
    return log.find("marked good", log.find("power on (boot 2)")) != std::string::npos;
  })) << board.Log();

  const schema::BootState state = sim_.State();
  bool counted = false;
  for (const schema::BootEvent& event : state.events())
    counted |= event.what() == "watchdog reset (counted as a failed boot)";
  EXPECT_TRUE(counted) << DescribeBootState(state);
  const ProcessResult off = board.Stop(SIGTERM);
  EXPECT_EQ(off.exit_code, 0);
  EXPECT_THAT(off.out, HasSubstr("sim board: power off"));
}

// A hung worker lcore: sbc-dataplane's other threads still answer, but the worker's
// poll count stops moving. Held here the way a debugger holds one thread (ptrace
// interrupt: the rest of the process runs on), sbc-boot names the worker, stops kicking
// the watchdog, and the board resets into a healthy boot.
TEST_F(SbcBootTest, AHungWorkerLcoreEndsInAWatchdogReset) {
  std::unique_ptr<BackgroundProcess> powered = PowerOnWithAShortWatchdog();
  BackgroundProcess& board = *powered;
  ASSERT_THAT(board.WaitForLog("marked good"), HasSubstr("sim board: power on (boot 1)"));

  const fs::path dataplane = sim_.appliance().run_dir / "slot-A/bin/sbc-dataplane";
  const pid_t pid = ProcessRunning(dataplane);
  ASSERT_GT(pid, 0) << "no process runs " << dataplane;
  const pid_t worker = ThreadNamed(pid, "worker");
  ASSERT_GT(worker, 0) << "no worker lcore thread in sbc-dataplane: " << ThreadNames(pid);
  HeldThread held(worker);
  ASSERT_TRUE(held.holding()) << held.error();

  const std::string reset = board.WaitForLog("power on (boot 2)");
  EXPECT_THAT(reset, HasSubstr("not alive: sbc-dataplane worker 1 of 1 has not polled for"));
  EXPECT_THAT(reset, HasSubstr("sim board: watchdog reset: not kicked for"));
  // The rest of the dataplane answered all along: it is the heartbeat that told.
  EXPECT_THAT(reset, Not(HasSubstr("dataplane unreachable")));
  ASSERT_TRUE(testing::WaitUntil([&] {
    const std::string log = board.Log();
    return log.find("marked good", log.find("power on (boot 2)")) != std::string::npos;
  })) << board.Log();

  const schema::BootState state = sim_.State();
  bool hang = false, counted = false;
  for (const schema::BootEvent& event : state.events()) {
    hang |= event.what().find("has not polled for") != std::string::npos;
    counted |= event.what() == "watchdog reset (counted as a failed boot)";
  }
  EXPECT_TRUE(hang) << "the hang is recorded for the audit log: " << DescribeBootState(state);
  EXPECT_TRUE(counted) << DescribeBootState(state);
  const ProcessResult off = board.Stop(SIGTERM);
  EXPECT_EQ(off.exit_code, 0);
  EXPECT_THAT(off.out, HasSubstr("sim board: power off"));
}

}  // namespace
}  // namespace sbc::firmware
