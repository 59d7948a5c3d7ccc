#include "sbc/mgmt/base/drbg.h"

#include <gtest/gtest.h>

#include <array>

namespace sbc::mgmt::base {
namespace {

// Seeded at construction; two instances, even under one personalisation, draw
// different bytes (the entropy source feeds each), and one draws anew each time.
TEST(DrbgTest, SeedsAndNeverRepeatsItselfOrAnother) {
  Drbg a("sbc-test"), b("sbc-test");
  ASSERT_TRUE(a.ok()) << a.seed_result();
  ASSERT_TRUE(b.ok()) << b.seed_result();
  std::array<unsigned char, 32> first{}, second{}, other{};
  ASSERT_EQ(Drbg::Draw(a.context(), first.data(), first.size()), 0);
  ASSERT_EQ(Drbg::Draw(a.context(), second.data(), second.size()), 0);
  ASSERT_EQ(Drbg::Draw(b.context(), other.data(), other.size()), 0);
  EXPECT_NE(first, second);
  EXPECT_NE(first, other);
  EXPECT_NE(first, decltype(first){});
}

}  // namespace
}  // namespace sbc::mgmt::base
