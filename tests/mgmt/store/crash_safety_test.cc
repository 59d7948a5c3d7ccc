// A crash at any instant of a store write leaves the old config or the new one,
// never neither and never a corrupt store. The store runs in a child process that is
// SIGKILLed at every durable step of a commit, then at steps drawn at random.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>

#include "store_fixture.h"

namespace sbc::mgmt::store {
namespace {

class CrashSafetyTest : public StoreFixture {
 protected:
  // Opens the store as a restarted appliance would and checks it is sound: running is
  // one of `allowed`, its bundle verifies, highest covers it, no temp file is left,
  // and the store still accepts a newer push.
  uint64_t RecoverAndCheck(const std::set<uint64_t>& allowed, uint64_t next_version) {
    Reopen();
    const uint64_t running = store_->running_version();
    EXPECT_TRUE(allowed.contains(running)) << "running version " << running;
    auto envelope = store_->RunningEnvelope();
    EXPECT_TRUE(envelope.has_value()) << "the running bundle is missing";
    if (envelope) {
      EXPECT_TRUE(verifier_->VerifyConfigBundle(*envelope, clock_.NowUnixMs() / 1000).has_value())
          << "the running bundle no longer verifies";
    }
    EXPECT_GE(store_->highest_version(), running);
    for (const auto& dir : {dir_, dir_ / "bundles"})
      for (const auto& entry : std::filesystem::directory_iterator(dir))
        EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();
    EXPECT_TRUE(store_->Push(Bundle(next_version)).has_value()) << "store refuses new pushes";
    return running;
  }

  // Runs `work` in a child that kills itself at the `kill_at`-th durable step.
  // Returns true if the child was killed (false: it finished first).
  bool RunChildKilledAtStep(int kill_at, const std::function<void(ConfigStore&)>& work) {
    store_.reset();
    const pid_t pid = fork();
    if (pid == 0) {
      int steps = 0;
      ConfigStore::Options options;
      options.crash_hook = [&](std::string_view) {
        if (++steps == kill_at) raise(SIGKILL);
      };
      auto store = ConfigStore::Open(dir_, *verifier_, clock_, std::move(options));
      if (!store) _exit(3);
      work(**store);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0) << "the child failed";
    }
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }
};

TEST_F(CrashSafetyTest, KilledAtEveryStepOfAPushLeavesOldOrNew) {
  std::set<uint64_t> seen;
  int kill_at = 1;
  for (;; ++kill_at) {
    std::filesystem::remove_all(dir_);
    Reopen();
    ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
    const std::string v2 = Bundle(2);
    const bool killed = RunChildKilledAtStep(kill_at, [&](ConfigStore& s) { (void)s.Push(v2); });
    SCOPED_TRACE("killed at step " + std::to_string(kill_at));
    seen.insert(RecoverAndCheck({1, 2}, 3));
    if (!killed) break;
  }
  // bundle, state and highest-version: four durable steps each.
  EXPECT_GE(kill_at, 12);
  EXPECT_THAT(seen, ::testing::ElementsAre(1, 2));  // both outcomes happened
}

TEST_F(CrashSafetyTest, KilledAtEveryStepOfARollbackOrRevertLeavesOldOrNew) {
  for (int op = 0; op < 2; ++op) {
    for (int kill_at = 1;; ++kill_at) {
      std::filesystem::remove_all(dir_);
      Reopen();
      ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
      const PushOptions options = op == 0 ? PushOptions{} : PushOptions{.confirm_within_s = 5};
      ASSERT_TRUE(store_->Push(Bundle(2), options).has_value());
      if (op == 1) clock_.Advance(6);  // the child's Open() reverts the unconfirmed push
      const bool killed = RunChildKilledAtStep(kill_at, [&](ConfigStore& s) {
        if (op == 0) (void)s.Rollback(1);
      });
      SCOPED_TRACE((op == 0 ? "rollback" : "revert") + std::string(", killed at step ") +
                   std::to_string(kill_at));
      RecoverAndCheck({1, 2}, 3);
      if (!killed) break;
    }
  }
}

// Kills at random points of a run of 40 pushes: the point is a durable step counted by
// the store (a seeded draw of which one), not a moment, so every round kills where it
// was meant to on any machine, however fast.
TEST_F(CrashSafetyTest, KilledAtRandomStepsDuringPushesNeverCorrupts) {
  std::mt19937 rng(2024);
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  uint64_t next = 2;
  uint64_t last_running = 1;
  int rounds_that_committed = 0, rounds_killed = 0;
  std::vector<std::string> bundles;
  for (int i = 0; i < 40; ++i) bundles.push_back(Bundle(1000 + i));
  constexpr int kStepsPerPush = 12;  // bundle, state, highest-version: four durable steps each
  for (int round = 0; round < 25; ++round) {
    const int kill_at = 1 + static_cast<int>(rng() % (bundles.size() * kStepsPerPush));
    SCOPED_TRACE("round " + std::to_string(round) + ", killed at step " + std::to_string(kill_at));
    rounds_killed += RunChildKilledAtStep(kill_at, [&](ConfigStore& s) {
      for (const auto& b : bundles) (void)s.Push(b);
    });
    Reopen();
    const uint64_t running = store_->running_version();
    ASSERT_TRUE(store_->RunningEnvelope().has_value());
    EXPECT_TRUE(
        verifier_->VerifyConfigBundle(*store_->RunningEnvelope(), clock_.NowUnixMs() / 1000));
    EXPECT_GE(store_->highest_version(), running);
    for (const auto& dir : {dir_, dir_ / "bundles"})
      for (const auto& entry : std::filesystem::directory_iterator(dir))
        EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();
    if (running != last_running) ++rounds_that_committed;
    last_running = running;
    // Bundles below what the child reached are now refused: move past them all.
    bundles.clear();
    for (int i = 0; i < 40; ++i) bundles.push_back(Bundle(2000 + 1000 * next + i));
    ++next;
  }
  EXPECT_EQ(rounds_killed, 25) << "every kill point lies within the run";
  // The kills landed mid-run, not only before the first push's commit.
  EXPECT_GT(rounds_that_committed, 0);
}

}  // namespace
}  // namespace sbc::mgmt::store
