// The connection table's expiry sweep: bounded work per call however sparse the
// table, and every entry met once per pass.
#include <gtest/gtest.h>

#include <set>

#include "sbc/dataplane/firewall/conntrack.h"

namespace sbc::dataplane {
namespace {

FlowKey Key(uint16_t port) {
  FlowKey k{};
  k.family = static_cast<uint8_t>(Family::kIpv4);
  k.protocol = kProtoUdp;
  k.port_a = port;
  k.port_b = 5060;
  k.addr_a[0] = 10;
  k.addr_b[0] = 10;
  k.addr_b[3] = 1;
  return k;
}

// One pass: as many calls as the table has 64-position words (and one more, to show
// the cursor wraps to the start).
std::multiset<int32_t> OnePass(FlowTable& table, uint32_t calls) {
  std::multiset<int32_t> seen;
  int32_t positions[64];
  for (uint32_t c = 0; c < calls; ++c) {
    const uint32_t found = table.NextForSweep(positions);
    EXPECT_LE(found, 64u);
    seen.insert(positions, positions + found);
  }
  return seen;
}

TEST(ConntrackSweepTest, AnEmptyTableYieldsNothingAndASparseOneEveryEntryOncePerPass) {
  auto table = FlowTable::Create("sweep_test", 1 << 16);
  ASSERT_TRUE(table.has_value()) << table.error();
  const uint32_t words = ((*table)->capacity() + 64 + 63) / 64;
  EXPECT_TRUE(OnePass(**table, words).empty());

  std::set<int32_t> added;
  for (uint16_t port : {1, 1000, 40000}) {
    const int32_t pos = (*table)->Add(Key(port));
    ASSERT_GE(pos, 0);
    added.insert(pos);
  }
  const std::multiset<int32_t> pass = OnePass(**table, words);
  EXPECT_EQ(std::set<int32_t>(pass.begin(), pass.end()), added);
  EXPECT_EQ(pass.size(), added.size()) << "each entry once per pass";

  (*table)->Remove(*added.begin());
  added.erase(added.begin());
  const std::multiset<int32_t> after = OnePass(**table, words);
  EXPECT_EQ(std::set<int32_t>(after.begin(), after.end()), added)
      << "a removed entry is not swept again";
}

}  // namespace
}  // namespace sbc::dataplane
