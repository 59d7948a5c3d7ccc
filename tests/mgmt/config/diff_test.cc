#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sbc/mgmt/config/diff.h"
#include "support/signing.h"

namespace sbc::mgmt::config {
namespace {

using ::testing::HasSubstr;

TEST(DiffTest, EqualConfigsHaveNoDiff) {
  EXPECT_EQ(DiffConfigs(testing::SampleConfig(), testing::SampleConfig(), "a", "b"), "");
}

TEST(DiffTest, ShowsTheChangedLinesWithContext) {
  schema::ApplianceConfig before = testing::SampleConfig(3);
  schema::ApplianceConfig after = before;
  after.mutable_rules(1)->set_dst_ports(0, "5060");
  const std::string diff = DiffConfigs(before, after, "version 1", "version 2");
  EXPECT_THAT(diff, HasSubstr("--- version 1\n+++ version 2\n@@ "));
  EXPECT_THAT(diff, HasSubstr("-  dst_ports: \"10001\"\n+  dst_ports: \"5060\"\n"));
  // Three lines of context each side, no more.
  EXPECT_THAT(diff, HasSubstr("@@ -31,7 +31,7 @@\n   to_zone: \"inside\"\n   src_sets: \"peers\"\n"
                              "   protocol: UDP\n-"));
  EXPECT_THAT(diff, ::testing::EndsWith("\n }\n rules {\n   name: \"rule-2\"\n"));
}

TEST(DiffTest, InsertionsAndDeletionsLineUp) {
  const std::vector<std::string> a = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
  std::vector<std::string> b = a;
  b.erase(b.begin() + 1);          // delete "b"
  b.insert(b.begin() + 8, "new");  // insert before "j"
  EXPECT_EQ(UnifiedDiff(a, b, "x", "y"),
            "--- x\n+++ y\n"
            "@@ -1,5 +1,4 @@\n a\n-b\n c\n d\n e\n"
            "@@ -7,5 +6,6 @@\n g\n h\n i\n+new\n j\n k\n");
}

}  // namespace
}  // namespace sbc::mgmt::config
