#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "sbc/dataplane/core/drop_reasons.h"

namespace sbc::dataplane {
namespace {

TEST(DropReasonsTest, EveryReasonHasAUniqueCounterNameAndHelp) {
  std::set<std::string_view> names;
  for (size_t r = 0; r < kDropReasonCount; ++r) {
    const auto reason = static_cast<DropReason>(r);
    const std::string name(DropReasonName(reason));
    EXPECT_TRUE(std::regex_match(name, std::regex("[a-z][a-z0-9_]*"))) << name;
    EXPECT_FALSE(DropReasonHelp(reason).empty()) << name;
    EXPECT_TRUE(names.insert(DropReasonName(reason)).second) << name << " is used twice";
  }
  EXPECT_EQ(DropReasonName(DropReason::kRuntFrame), "runt_frame");
}

}  // namespace
}  // namespace sbc::dataplane
