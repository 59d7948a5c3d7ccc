// sbc-boot's supervision with stand-in daemons (shell commands) on a clock the test
// moves: restarts after a doubling backoff, a crash loop reported and left stopped, a
// healthy daemon left alone, and a stop that reaches everything.
#include "sbc/firmware/supervisor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>

#include "support/manual_steady_clock.h"
#include "support/temp_dir.h"
#include "support/wait.h"

namespace sbc::firmware {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

class SupervisorTest : public ::testing::Test {
 protected:
  DaemonSpec Shell(const std::string& name, const std::string& script) const {
    return {name, {"/bin/sh", "-c", script}, dir_.path() / (name + ".log")};
  }
  // Polls until something happens (a child's exit is an event, not a time).
  std::vector<std::string> NextEvents(Supervisor& supervisor) {
    std::vector<std::string> events;
    EXPECT_TRUE(testing::WaitUntil([&] {
      events = supervisor.Poll();
      return !events.empty();
    }));
    return events;
  }

  testing::ScopedTempDir dir_;
  testing::ManualSteadyClock clock_;
  SupervisionPolicy policy_{.first_backoff = milliseconds(100),
                            .max_backoff = milliseconds(1000),
                            .crash_loop_exits = 4,
                            .crash_loop_window = milliseconds(60'000)};
};

TEST_F(SupervisorTest, ACrashedDaemonIsRestartedAfterABackoffThatDoubles) {
  Supervisor supervisor({Shell("crasher", "exit 3"), Shell("steady", "exec sleep 100000")},
                        {.first_backoff = milliseconds(100),
                         .max_backoff = milliseconds(1000),
                         .crash_loop_exits = 10,
                         .crash_loop_window = milliseconds(60'000)},
                        clock_);
  supervisor.Start();
  for (int backoff : {100, 200, 400, 800, 1000, 1000}) {
    const auto events = NextEvents(supervisor);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0],
              "crasher exited with status 3; restart in " + std::to_string(backoff) + " ms");
    // Not before its backoff has passed, however often it is polled.
    clock_.Advance(milliseconds(backoff - 1));
    EXPECT_TRUE(supervisor.Poll().empty());
    clock_.Advance(milliseconds(1));
    const auto restarted = supervisor.Poll();
    ASSERT_EQ(restarted.size(), 1u);
    EXPECT_THAT(restarted[0], HasSubstr("crasher restarted"));
  }
  EXPECT_EQ(supervisor.Restarts("crasher"), 6);
  EXPECT_EQ(supervisor.Restarts("steady"), 0);
  EXPECT_GT(supervisor.Pid("steady"), 0);
}

TEST_F(SupervisorTest, ACrashLoopIsReportedAndTheDaemonLeftStopped) {
  Supervisor supervisor({Shell("looper", "exit 1")}, policy_, clock_);
  supervisor.Start();
  std::string last;
  for (int exits = 1; exits <= policy_.crash_loop_exits; ++exits) {
    const auto events = NextEvents(supervisor);
    ASSERT_EQ(events.size(), 1u);
    last = events[0];
    if (exits < policy_.crash_loop_exits) {
      clock_.Advance(policy_.max_backoff);
      ASSERT_EQ(supervisor.Poll().size(), 1u);  // restarted
    }
  }
  EXPECT_EQ(last, "looper exited with status 1: crash loop (4 exits in 60000 ms); left stopped");
  EXPECT_TRUE(supervisor.InCrashLoop());
  clock_.Advance(milliseconds(120'000));
  EXPECT_TRUE(supervisor.Poll().empty());
  EXPECT_EQ(supervisor.Pid("looper"), -1);
}

TEST_F(SupervisorTest, ExitsFurtherApartThanTheWindowAreNoCrashLoop) {
  Supervisor supervisor({Shell("rare", "exit 1")}, policy_, clock_);
  supervisor.Start();
  for (int i = 0; i < 3 * policy_.crash_loop_exits; ++i) {
    ASSERT_EQ(NextEvents(supervisor).size(), 1u);
    clock_.Advance(policy_.crash_loop_window);  // a whole window between exits
    ASSERT_EQ(supervisor.Poll().size(), 1u);
  }
  EXPECT_FALSE(supervisor.InCrashLoop());
}

TEST_F(SupervisorTest, AMissingBinaryCountsAsACrash) {
  Supervisor supervisor(
      {{"gone", {(dir_.path() / "no-such-binary").string()}, dir_.path() / "gone.log"}}, policy_,
      clock_);
  supervisor.Start();
  const auto events = NextEvents(supervisor);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "gone exited with status 127; restart in 100 ms");
}

TEST_F(SupervisorTest, StopEndsEveryDaemonAndWhatItStarted) {
  const std::string child_pid = (dir_.path() / "child.pid").string();
  auto supervisor = std::make_unique<Supervisor>(
      std::vector<DaemonSpec>{Shell("parent", "sleep 100000 & echo $! > " + child_pid + "; wait")},
      policy_, clock_);
  supervisor->Start();
  ASSERT_TRUE(testing::WaitUntil([&] {
    std::ifstream in(child_pid);
    std::string pid;
    return static_cast<bool>(in >> pid);
  }));
  std::ifstream in(child_pid);
  pid_t grandchild = 0;
  in >> grandchild;
  supervisor->Stop();
  EXPECT_FALSE(supervisor->AllRunning());
  // The daemon's own child went with it (its process group was signalled).
  EXPECT_TRUE(testing::WaitUntil([&] { return kill(grandchild, 0) != 0; }));
}

TEST_F(SupervisorTest, ADaemonItsCheckRefusesIsNeverStarted) {
  bool binary_intact = true;
  DaemonSpec spec = Shell("checked", "exit 1");
  spec.check = [&]() -> std::expected<void, std::string> {
    if (binary_intact) return {};
    return std::unexpected(std::string("bin/checked: SHA-256 differs"));
  };
  Supervisor supervisor({spec}, policy_, clock_);
  EXPECT_TRUE(supervisor.Start().empty());
  ASSERT_EQ(NextEvents(supervisor).size(), 1u);  // it exited; a restart is due
  binary_intact = false;
  clock_.Advance(policy_.max_backoff);
  const auto events = supervisor.Poll();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "refused to start checked: bin/checked: SHA-256 differs; left stopped");
  EXPECT_TRUE(supervisor.Refused());
  clock_.Advance(policy_.max_backoff);
  EXPECT_TRUE(supervisor.Poll().empty());
  EXPECT_EQ(supervisor.Pid("checked"), -1);
}

TEST(AlarmLedTest, TheLedFileSaysOnOrOff) {
  testing::ScopedTempDir dir;
  const auto led = dir.path() / "leds/alarm";
  EXPECT_EQ(SetAlarmLed(led, true), "");
  std::ifstream in(led);
  std::string value;
  in >> value;
  EXPECT_EQ(value, "1");
}

}  // namespace
}  // namespace sbc::firmware
