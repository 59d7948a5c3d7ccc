// RFC 2544 (section 26.1) throughput: the highest offered rate at which a trial loses
// no more than the allowed fraction, found by binary search. Pure logic: the trial is
// the caller's (sbc-pktgen sends real traffic; the unit test, a model).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace sbc::tools::pktgen {

struct TrialOutcome {
  uint64_t expected = 0;         // frames that should have come back
  uint64_t received = 0;         // frames that did
  bool generator_short = false;  // the generator could not offer the rate: no verdict on the device
  uint64_t refused = 0;          // frames the device's port would not take (its ring full)
  // Short with every frame taken and none lost: the generator itself was held up (a
  // shared machine's hiccup), which says nothing of the device.
  [[nodiscard]] bool held_up() const {
    return generator_short && refused == 0 && received >= expected;
  }
};

struct SearchSpec {
  double min_pps = 1000;
  double max_pps = 1e7;
  double loss_ratio = 0;         // 0, or 1e-5 for RFC 2544's 0.001 %
  double resolution = 0.01;      // stop when the bracket is this fraction of its top
  int retries_when_held_up = 2;  // a trial the generator was held up in runs again
};

struct SearchStep {
  double pps;
  TrialOutcome outcome;
  bool passed;
  int runs = 1;  // with the reruns of a trial the generator was held up in
};

struct SearchResult {
  double pps = 0;  // highest passing rate; 0 if even min_pps lost too much
  // The trial just above the result failed on the generator (late with nothing
  // refused or lost, reruns and all), not on the device: the figure is the generator's.
  bool generator_bound = false;
  std::vector<SearchStep> steps;
};

// Did a trial pass? Lost frames within loss_ratio of those expected (none expected:
// nothing to lose), and the generator offered the rate.
[[nodiscard]] bool Passed(const TrialOutcome& outcome, double loss_ratio);

[[nodiscard]] SearchResult FindThroughput(const SearchSpec& spec,
                                          const std::function<TrialOutcome(double pps)>& trial);

}  // namespace sbc::tools::pktgen
