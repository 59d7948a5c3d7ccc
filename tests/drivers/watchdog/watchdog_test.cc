// The sim board's file-backed watchdog: a kick is seen by the board's side as a short
// silence, a disarm as no timer at all, and damage as an error.
#include "sbc/drivers/watchdog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.h"

namespace sbc::drivers {
namespace {

TEST(FileWatchdogTest, AKickIsFreshAndADisarmStopsTheTimer) {
  testing::ScopedTempDir dir;
  schema::Watchdog board;
  board.set_path("dog/watchdog");
  board.set_file_backed(true);
  board.set_timeout_s(30);
  const auto file = dir.path() / "dog/watchdog";
  EXPECT_FALSE(FileWatchdogSilenceMs(file).value().has_value());  // never armed

  auto dog = OpenWatchdog(board, dir.path());
  ASSERT_TRUE(dog.has_value()) << dog.error();
  auto silence = FileWatchdogSilenceMs(file);
  ASSERT_TRUE(silence.has_value() && silence->has_value());  // opening arms it
  // Far below any board's timeout (1 s at least), however slow the machine.
  EXPECT_LT(**silence, 60'000u);
  ASSERT_TRUE((*dog)->Kick().has_value());
  (*dog)->Disarm();
  EXPECT_FALSE(FileWatchdogSilenceMs(file).value().has_value());
}

TEST(FileWatchdogTest, ARecordThatIsNoKickIsAnError) {
  testing::ScopedTempDir dir;
  std::ofstream(dir.path() / "watchdog") << "garbage\n";
  auto silence = FileWatchdogSilenceMs(dir.path() / "watchdog");
  ASSERT_FALSE(silence.has_value());
  EXPECT_THAT(silence.error(), ::testing::HasSubstr("not a watchdog record"));
}

TEST(DeviceWatchdogTest, AMissingDeviceIsNamed) {
  schema::Watchdog board;
  board.set_path("/nonexistent/watchdog0");
  board.set_timeout_s(30);
  auto dog = OpenWatchdog(board, "/");
  ASSERT_FALSE(dog.has_value());
  EXPECT_THAT(dog.error(), ::testing::HasSubstr("/nonexistent/watchdog0"));
}

}  // namespace
}  // namespace sbc::drivers
