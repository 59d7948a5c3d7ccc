// Frames over a real socket pair: round trips, and each failure kept apart.
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "sbc/mgmt/control/framing.h"
#include "support/manual_steady_clock.h"
#include "support/wait.h"

namespace sbc::mgmt::control {
namespace {

using namespace std::chrono_literals;

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0); }
  void TearDown() override {
    for (int fd : fds_)
      if (fd >= 0) close(fd);
  }
  void CloseWriter() {
    close(fds_[0]);
    fds_[0] = -1;
  }
  int fds_[2] = {-1, -1};
};

TEST_F(FramingTest, FramesRoundTrip) {
  FdTransport a(fds_[0]), b(fds_[1]);
  ASSERT_TRUE(WriteFrame(a, "hello").has_value());
  ASSERT_TRUE(WriteFrame(a, "").has_value());
  ASSERT_TRUE(WriteFrame(a, std::string(100000, 'x')).has_value());
  EXPECT_EQ(ReadFrame(b, 1s).value(), "hello");
  EXPECT_EQ(ReadFrame(b, 1s).value(), "");
  EXPECT_EQ(ReadFrame(b, 1s).value().size(), 100000u);
}

TEST_F(FramingTest, OversizedFrameIsRefusedWithoutReadingIt) {
  FdTransport a(fds_[0]), b(fds_[1]);
  ASSERT_TRUE(a.WriteAll(std::string("\x7f\xff\xff\xff", 4)).has_value());
  EXPECT_EQ(ReadFrame(b, 1s).error(), FrameError::kTooLarge);
  EXPECT_EQ(WriteFrame(a, std::string(2000, 'x'), 1000).error(), FrameError::kTooLarge);
}

TEST_F(FramingTest, CloseBetweenFramesIsCleanAndInsideOneIsTruncation) {
  {
    FdTransport a(fds_[0]), b(fds_[1]);
    ASSERT_TRUE(WriteFrame(a, "one").has_value());
    ASSERT_TRUE(a.WriteAll(std::string("\0\0\0\x10"
                                       "abc",
                                       7))
                    .has_value());  // 16 announced, 3 sent
    CloseWriter();
    EXPECT_EQ(ReadFrame(b, 1s).value(), "one");
    EXPECT_EQ(ReadFrame(b, 1s).error(), FrameError::kTruncated);
  }
  int pair[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
  close(pair[0]);
  FdTransport c(pair[1]);
  EXPECT_EQ(ReadFrame(c, 1s).error(), FrameError::kClosed);
  close(pair[1]);
}

TEST_F(FramingTest, ASlowPeerTimesOut) {
  FdTransport a(fds_[0]), b(fds_[1]);
  ASSERT_TRUE(a.WriteAll(std::string("\0\0\0\x05"
                                     "ab",
                                     6))
                  .has_value());  // and then nothing
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ReadFrame(b, 200ms).error(), FrameError::kTimeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms) << "never early, on the system clock";
}

// On a clock the test moves, the deadline falls exactly where it should.
TEST_F(FramingTest, AFrameIsDueWithinItsTimeoutOfItsClock) {
  testing::ManualSteadyClock clock;
  FdTransport a(fds_[0]), b(fds_[1]);
  ASSERT_TRUE(a.WriteAll(std::string("\0\0\0\x05"
                                     "ab",
                                     6))
                  .has_value());
  auto late =
      std::async(std::launch::async, [&] { return ReadFrame(b, 200ms, kMaxFrameBytes, clock); });
  clock.Advance(199ms);
  ASSERT_TRUE(a.WriteAll("cde").has_value());
  EXPECT_EQ(late.get().value(), "abcde") << "199 ms of 200: in time";

  ASSERT_TRUE(a.WriteAll(std::string("\0\0\0\x05"
                                     "ab",
                                     6))
                  .has_value());
  auto never =
      std::async(std::launch::async, [&] { return ReadFrame(b, 200ms, kMaxFrameBytes, clock); });
  // Its deadline is set when the read begins: wait for that (the peer's bytes are taken).
  ASSERT_TRUE(testing::WaitUntil([&] {
    int queued = 0;
    return ioctl(fds_[1], FIONREAD, &queued) == 0 && queued == 0;
  }));
  clock.Advance(200ms);
  EXPECT_EQ(never.get().error(), FrameError::kTimeout);
}

}  // namespace
}  // namespace sbc::mgmt::control
