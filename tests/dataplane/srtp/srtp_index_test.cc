// The SRTP packet index and replay window (RFC 3711 §3.3.1, §3.3.2, appendix A).
#include <gtest/gtest.h>

#include "sbc/dataplane/srtp/srtp_index.h"

namespace sbc::dataplane {
namespace {

TEST(PacketIndexWindowTest, TheRocFollowsTheSequenceNumberAcrossAWrap) {
  PacketIndexWindow w;
  EXPECT_EQ(*w.EstimateRtp(65530), 65530u);
  w.Commit(65530);
  EXPECT_EQ(*w.EstimateRtp(65535), 65535u);
  EXPECT_EQ(*w.EstimateRtp(2), 65536u + 2) << "after the wrap: ROC 1";
  w.Commit(65536 + 2);
  EXPECT_EQ(w.roc(), 1u);
  EXPECT_EQ(*w.EstimateRtp(65534), 65534u) << "a late packet from before the wrap keeps ROC 0";
  EXPECT_EQ(*w.EstimateRtp(30000), 65536u + 30000) << "ahead by < 2^15 stays in ROC 1";
  EXPECT_EQ(*w.EstimateRtp(40000), 40000u) << "ahead by > 2^15 is taken as late, from ROC 0";
}

TEST(PacketIndexWindowTest, APacketFromBeforeTheStreamBeganIsTooOld) {
  PacketIndexWindow w;
  w.Commit(5);
  EXPECT_FALSE(w.EstimateRtp(60000).has_value()) << "would need ROC -1";
}

TEST(PacketIndexWindowTest, ReplaysAndPacketsBehindTheWindowAreRefused) {
  PacketIndexWindow w;
  for (uint64_t i : {100u, 101u, 103u}) w.Commit(i);
  EXPECT_EQ(w.Check(101), IndexVerdict::kReplayed);
  EXPECT_EQ(w.Check(102), IndexVerdict::kFresh) << "late, but never seen";
  EXPECT_EQ(w.Check(104), IndexVerdict::kFresh);
  EXPECT_EQ(w.Check(103 - 63), IndexVerdict::kFresh) << "the oldest index the window holds";
  EXPECT_EQ(w.Check(103 - 64), IndexVerdict::kTooOld);
  w.Commit(102);
  EXPECT_EQ(w.Check(102), IndexVerdict::kReplayed);
  w.Commit(103 + 200);  // a jump past the whole window
  EXPECT_EQ(w.Check(103), IndexVerdict::kTooOld);
  EXPECT_EQ(w.Check(303), IndexVerdict::kReplayed);
  EXPECT_EQ(w.Check(302), IndexVerdict::kFresh);
}

TEST(PacketIndexWindowTest, ResetStartsOverWithTheSignalledRoc) {
  PacketIndexWindow w;
  w.Commit(70000);
  w.Reset(3);
  EXPECT_FALSE(w.started());
  EXPECT_EQ(*w.EstimateRtp(10), (uint64_t{3} << 16) | 10);
  EXPECT_EQ(w.Check(70000), IndexVerdict::kFresh);
}

}  // namespace
}  // namespace sbc::dataplane
