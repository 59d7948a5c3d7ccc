// The appliance's settable clock: the sim board's offset file (set, persisted, read
// back, refused when damaged), the accepted range, and UTC text both ways.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sbc/mgmt/clock/settable_clock.h"

namespace sbc::mgmt::clock {
namespace {

using ::testing::HasSubstr;

class OffsetClockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("sbc-clock-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

// Two reads of clocks side by side: a loaded machine may stall between them, so
// "near" allows a minute (wrong offsets are years off, or hours).
constexpr double kStallMs = 60'000;

TEST_F(OffsetClockTest, WithoutAFileItIsTheHostsClock) {
  auto clock = OffsetFileClock(dir_ / "clock-offset");
  ASSERT_TRUE(clock.has_value()) << clock.error();
  EXPECT_NEAR(double((*clock)->NowUnixMs()), double(base::SystemClock().NowUnixMs()), kStallMs);
}

TEST_F(OffsetClockTest, ASetTimeIsKeptAcrossARestart) {
  const int64_t target = *ParseUtc("2040-02-29T12:00:00Z");
  {
    auto clock = OffsetFileClock(dir_ / "clock-offset");
    ASSERT_TRUE(clock.has_value());
    ASSERT_TRUE((*clock)->Set(target).has_value());
    EXPECT_NEAR(double((*clock)->NowUnixMs()), double(target), kStallMs);
  }
  auto reopened = OffsetFileClock(dir_ / "clock-offset");
  ASSERT_TRUE(reopened.has_value());
  EXPECT_NEAR(double((*reopened)->NowUnixMs()), double(target), kStallMs);
  EXPECT_NEAR(double(base::SystemClock().NowUnixMs()), double(::time(nullptr)) * 1000, kStallMs)
      << "the host's clock moved";
}

TEST_F(OffsetClockTest, TimesOutsideTheAcceptedRangeAreRefusedAndChangeNothing) {
  auto clock = OffsetFileClock(dir_ / "clock-offset");
  ASSERT_TRUE(clock.has_value());
  for (int64_t bad : {int64_t(0), kEarliestUnixMs - 1, kLatestUnixMs}) {
    const auto refused = (*clock)->Set(bad);
    ASSERT_FALSE(refused.has_value());
    EXPECT_THAT(refused.error(), HasSubstr("outside the accepted range"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "clock-offset"));
  EXPECT_TRUE((*clock)->Set(kEarliestUnixMs).has_value());
}

TEST_F(OffsetClockTest, ADamagedOffsetFileIsNamed) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "clock-offset") << "12 hours\n";
  auto clock = OffsetFileClock(dir_ / "clock-offset");
  ASSERT_FALSE(clock.has_value());
  EXPECT_THAT(clock.error(), HasSubstr("clock-offset: not a clock offset in milliseconds"));
}

TEST(UtcTextTest, RoundTripsAndRefusesOtherShapes) {
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtc(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatUtc(1'796'000'123'456), "2026-11-30T00:55:23.456Z");
  EXPECT_EQ(*ParseUtc("2026-11-30T00:55:23.456Z"), 1'796'000'123'456);
  EXPECT_EQ(*ParseUtc("2026-11-30T00:55:23Z"), 1'796'000'123'000);
  for (const char* bad : {"2026-11-29 00:42:03Z", "2026-11-30T00:55:23",
                          "2026-11-30T00:55:23+01:00", "2026-11-30T00:55:23.4Z", "yesterday", ""})
    EXPECT_FALSE(ParseUtc(bad).has_value()) << bad;
}

}  // namespace
}  // namespace sbc::mgmt::clock
