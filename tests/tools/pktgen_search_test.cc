// RFC 2544 throughput search against modelled devices: it finds the knee of a device
// that loses above a rate, honours the loss threshold, reports a device faster than
// the bracket, one that loses even at its bottom, a generator that falls short, and
// one held up for a moment (the trial runs again).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "search.h"

namespace sbc::tools::pktgen {
namespace {

// A device that forwards everything up to `capacity` pps and loses the excess.
std::function<TrialOutcome(double)> Device(double capacity, double generator_limit = 1e12) {
  return [=](double pps) {
    const auto expected = static_cast<uint64_t>(pps);
    const auto received = static_cast<uint64_t>(std::min(pps, capacity));
    return TrialOutcome{expected, received, pps > generator_limit};
  };
}

TEST(ThroughputSearchTest, FindsTheHighestLosslessRateWithinTheResolution) {
  const SearchSpec spec{.min_pps = 1e4, .max_pps = 2e7, .loss_ratio = 0, .resolution = 0.01};
  const SearchResult r = FindThroughput(spec, Device(3.3e6));
  EXPECT_LE(r.pps, 3.3e6);
  EXPECT_GE(r.pps, 3.3e6 * 0.99);
  EXPECT_FALSE(r.generator_bound);
  EXPECT_LT(r.steps.size(), 30u) << "a binary search, not a sweep";
  for (const SearchStep& s : r.steps) EXPECT_EQ(s.passed, s.pps <= 3.3e6) << s.pps;
}

TEST(ThroughputSearchTest, ALossThresholdAcceptsThatMuchLoss) {
  // A device that loses 1 frame in 200,000 at any rate.
  auto lossy = [](double pps) {
    const auto expected = static_cast<uint64_t>(pps);
    return TrialOutcome{expected, expected - expected / 200000, false};
  };
  const SearchSpec strict{.min_pps = 1e6, .max_pps = 1e7, .loss_ratio = 0};
  EXPECT_EQ(FindThroughput(strict, lossy).pps, 0) << "it loses even at the bottom";
  const SearchSpec rfc{.min_pps = 1e6, .max_pps = 1e7, .loss_ratio = 1e-5};  // 0.001 %
  EXPECT_EQ(FindThroughput(rfc, lossy).pps, 1e7);
}

TEST(ThroughputSearchTest, ADeviceFasterThanTheBracketTakesOneTrial) {
  const SearchResult r = FindThroughput({.min_pps = 1e3, .max_pps = 1e6}, Device(5e6));
  EXPECT_EQ(r.pps, 1e6);
  EXPECT_EQ(r.steps.size(), 1u);
}

TEST(ThroughputSearchTest, AGeneratorThatFallsShortIsNoVerdictOnTheDevice) {
  // The device could do 8 Mpps; the generator offers at most 5.
  const SearchResult r =
      FindThroughput({.min_pps = 1e4, .max_pps = 2e7, .resolution = 0.01}, Device(8e6, 5e6));
  EXPECT_LE(r.pps, 5e6);
  EXPECT_GE(r.pps, 5e6 * 0.99);
  EXPECT_TRUE(r.generator_bound) << "the figure is the generator's, and says so";
}

TEST(ThroughputSearchTest, ATrialTheGeneratorWasHeldUpInRunsAgain) {
  // A device good for 5 Mpps; the generator is held up (late, nothing refused or
  // lost) in the first run of every trial above 1 Mpps, as on a shared machine.
  std::map<double, int> runs;
  auto hiccups = [&](double pps) {
    const auto expected = static_cast<uint64_t>(pps);
    if (pps > 1e6 && runs[pps]++ == 0) return TrialOutcome{expected, expected, true, 0};
    return Device(5e6)(pps);
  };
  const SearchResult r =
      FindThroughput({.min_pps = 1e4, .max_pps = 2e7, .resolution = 0.01}, hiccups);
  EXPECT_GE(r.pps, 5e6 * 0.99) << "the hiccups are no verdict on the device";
  EXPECT_LE(r.pps, 5e6);
  for (const SearchStep& s : r.steps) EXPECT_EQ(s.runs, s.pps > 1e6 ? 2 : 1) << s.pps;

  // A trial the device refused frames in (its ring full) stands at once, and the
  // device is the limit.
  size_t trials = 0;
  auto refusing = [&](double pps) {
    ++trials;
    const auto expected = static_cast<uint64_t>(pps);
    return pps <= 5e6 ? TrialOutcome{expected, expected, false, 0}
                      : TrialOutcome{expected, expected, true, 32};
  };
  const SearchResult r2 =
      FindThroughput({.min_pps = 1e4, .max_pps = 2e7, .resolution = 0.01}, refusing);
  EXPECT_GE(r2.pps, 5e6 * 0.99);
  EXPECT_LE(r2.pps, 5e6);
  EXPECT_EQ(trials, r2.steps.size()) << "no reruns: refusals are the device's";
  EXPECT_FALSE(r2.generator_bound)
      << "a device that refuses frames is the limit, not the generator";
  EXPECT_FALSE((TrialOutcome{100, 99, true, 0}.held_up())) << "a lost frame is the device's";
}

TEST(ThroughputSearchTest, NothingExpectedIsNothingLost) {
  EXPECT_TRUE(Passed({.expected = 0, .received = 0}, 0));
  EXPECT_FALSE(Passed({.expected = 10, .received = 10, .generator_short = true}, 0));
  EXPECT_TRUE(Passed({.expected = 100000, .received = 99999}, 1e-5));
  EXPECT_FALSE(Passed({.expected = 100000, .received = 99998}, 1e-5));
}

}  // namespace
}  // namespace sbc::tools::pktgen
