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
};

struct SearchSpec {
  double min_pps = 1000;
  double max_pps = 1e7;
  double loss_ratio = 0;     // 0, or 1e-5 for RFC 2544's 0.001 %
  double resolution = 0.01;  // stop when the bracket is this fraction of its top
};

struct SearchStep {
  double pps;
  TrialOutcome outcome;
  bool passed;
};

struct SearchResult {
  double pps = 0;                // highest passing rate; 0 if even min_pps lost too much
  bool generator_bound = false;  // the top of the bracket was where the generator fell short
  std::vector<SearchStep> steps;
};

// Did a trial pass? Lost frames within loss_ratio of those expected (none expected:
// nothing to lose), and the generator offered the rate.
[[nodiscard]] bool Passed(const TrialOutcome& outcome, double loss_ratio);

[[nodiscard]] SearchResult FindThroughput(const SearchSpec& spec,
                                          const std::function<TrialOutcome(double pps)>& trial);

}  // namespace sbc::tools::pktgen
