// The hung-thread check's arithmetic, on readings with times of the test's choosing:
// a count that moves is a beat, one that stays put for the limit is a hang, and a
// restarted process (counts lower, or another number of them) starts over.
#include "sbc/firmware/heartbeat.h"

#include <gtest/gtest.h>

#include <vector>

namespace sbc::firmware {
namespace {

using std::chrono::milliseconds;
using Counts = std::vector<uint64_t>;

const mgmt::control::SteadyClock::time_point kStart{std::chrono::hours(1)};

TEST(HeartbeatsTest, CountsThatKeepMovingAreAlive) {
  Heartbeats heartbeats(milliseconds(5000));
  for (uint64_t i = 0; i < 100; ++i)
    EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(500) * i, Counts{1000 * i, 7 + 3 * i}))
        << i;
}

TEST(HeartbeatsTest, ACountStillForTheLimitIsAStallWithHowLongAndWhere) {
  Heartbeats heartbeats(milliseconds(5000));
  ASSERT_FALSE(heartbeats.Observe(kStart, Counts{10, 20}));
  // The first moves on; the second stays at 20 from here.
  ASSERT_FALSE(heartbeats.Observe(kStart + milliseconds(1000), Counts{11, 20}));
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(4999), Counts{12, 20}))
      << "4,999 ms is within the limit";
  const auto stall = heartbeats.Observe(kStart + milliseconds(5000), Counts{13, 20});
  ASSERT_TRUE(stall.has_value());
  EXPECT_EQ(stall->index, 1u);
  EXPECT_EQ(stall->still, milliseconds(5000));
  EXPECT_EQ(stall->count, 20u);
  // Stalled until it moves; then alive again.
  const auto later = heartbeats.Observe(kStart + milliseconds(9000), Counts{14, 20});
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->still, milliseconds(9000));
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(9500), Counts{15, 21}));
}

TEST(HeartbeatsTest, TheFirstStallIsNamedAndTheOthersStillCount) {
  Heartbeats heartbeats(milliseconds(100));
  ASSERT_FALSE(heartbeats.Observe(kStart, Counts{5, 5, 5}));
  const auto stall = heartbeats.Observe(kStart + milliseconds(100), Counts{5, 6, 5});
  ASSERT_TRUE(stall.has_value());
  EXPECT_EQ(stall->index, 0u);
  // The second's beat at +100 was recorded although the first was reported: at +150
  // it has been still for 50 ms only, and the others moved: none is stalled.
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(150), Counts{6, 6, 6}));
}

TEST(HeartbeatsTest, ARestartedProcessStartsOver) {
  Heartbeats heartbeats(milliseconds(1000));
  ASSERT_FALSE(heartbeats.Observe(kStart, Counts{900}));
  // A new process counts from 0: lower is a beat, not a stall.
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(900), Counts{3}));
  // Another number of counts (another board file's workers): the readings start afresh.
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(5000), Counts{3, 3}));
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(5999), Counts{3, 3}));
  EXPECT_TRUE(heartbeats.Observe(kStart + milliseconds(6000), Counts{3, 3}));
  // Reset (the supervisor restarts the process): nothing is held against the new one.
  heartbeats.Reset();
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(7000), Counts{3, 3}));
  EXPECT_TRUE(heartbeats.Observe(kStart + milliseconds(8000), Counts{3, 3}));
}

TEST(HeartbeatsTest, NoCountsNeverStall) {
  Heartbeats heartbeats(milliseconds(100));
  EXPECT_FALSE(heartbeats.Observe(kStart, Counts{}));
  EXPECT_FALSE(heartbeats.Observe(kStart + milliseconds(1000), Counts{}));
}

TEST(MainLoopTicksTest, AProcessThatNeverTickedIsNotHeldAgainst) {
  MainLoopTicks ticks(milliseconds(1000));
  ticks.Running(100);
  EXPECT_FALSE(ticks.Observe(kStart));
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(60'000)));
}

TEST(MainLoopTicksTest, TicksStoppingForTheLimitAreAStall) {
  MainLoopTicks ticks(milliseconds(1000));
  ticks.Running(100);
  ticks.Ticked();
  EXPECT_FALSE(ticks.Observe(kStart));
  ticks.Ticked();
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(500)));
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(1499)));  // 999 ms since the last
  const auto stall = ticks.Observe(kStart + milliseconds(1500));
  ASSERT_TRUE(stall.has_value());
  EXPECT_EQ(stall->still, milliseconds(1000));
  ticks.Ticked();  // it came back
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(1600)));
}

TEST(MainLoopTicksTest, ARestartedProcessStartsOverUntilItTicks) {
  MainLoopTicks ticks(milliseconds(1000));
  ticks.Running(100);
  ticks.Ticked();
  EXPECT_FALSE(ticks.Observe(kStart));
  // The supervisor restarted it: the new process is not held to the old one's ticks,
  // however long its start-up takes, until it ticks itself.
  ticks.Running(200);
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(5000)));
  ticks.Running(200);  // the same process again: nothing changes
  ticks.Ticked();
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(6000)));
  EXPECT_TRUE(ticks.Observe(kStart + milliseconds(7000)));
}

TEST(MainLoopTicksTest, AReaderKeptAwayStartsItsReadingsOver) {
  MainLoopTicks ticks(milliseconds(1000));
  ticks.Running(100);
  ticks.Ticked();
  EXPECT_FALSE(ticks.Observe(kStart));
  // sbc-boot was busy writing an install for 10 s; the requests waited on it.
  ticks.Reset();
  EXPECT_FALSE(ticks.Observe(kStart + milliseconds(10'000)));
  EXPECT_TRUE(ticks.Observe(kStart + milliseconds(11'000)));
}

}  // namespace
}  // namespace sbc::firmware
