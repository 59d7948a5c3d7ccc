// What the SRTP streams keep beside the crypto device's sessions: which lines of a
// session object are worth asking for ahead of use.
#include <gtest/gtest.h>

#include <vector>

#include "sbc/dataplane/srtp/srtp_stream.h"

namespace sbc::dataplane {
namespace {

TEST(LinesInUseTest, MarksTheLinesThatHoldAnythingAndNoneBeyondTheThirtySecond) {
  std::vector<uint8_t> object(64 * 40, 0);
  EXPECT_EQ(LinesInUse(object.data(), 200), 0u) << "all zero";
  object[70] = 1;   // line 1
  object[199] = 1;  // line 3, the last (short) line of a 200-byte object
  object[64 * 31] = 1;
  object[64 * 35] = 1;  // past the 32nd line
  EXPECT_EQ(LinesInUse(object.data(), 200), (1u << 1) | (1u << 3));
  EXPECT_EQ(LinesInUse(object.data(), 64 * 40), (1u << 1) | (1u << 3) | (1u << 31));
  EXPECT_EQ(LinesInUse(object.data(), 199), 1u << 1) << "byte 199 lies outside a 199-byte object";
}

}  // namespace
}  // namespace sbc::dataplane
