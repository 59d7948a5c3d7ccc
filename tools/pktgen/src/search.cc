#include "search.h"

#include <cmath>

namespace sbc::tools::pktgen {

bool Passed(const TrialOutcome& outcome, double loss_ratio) {
  if (outcome.generator_short) return false;
  if (outcome.received >= outcome.expected) return true;
  const auto lost = static_cast<double>(outcome.expected - outcome.received);
  return lost <= loss_ratio * static_cast<double>(outcome.expected);
}

SearchResult FindThroughput(const SearchSpec& spec,
                            const std::function<TrialOutcome(double pps)>& trial) {
  SearchResult result;
  auto run = [&](double pps) {
    TrialOutcome outcome = trial(pps);
    int runs = 1;
    for (; runs <= spec.retries_when_held_up && outcome.held_up(); ++runs) outcome = trial(pps);
    const bool passed = Passed(outcome, spec.loss_ratio);
    result.steps.push_back({pps, outcome, passed, runs});
    return result.steps.back();
  };
  // The top first: a device faster than the bracket needs one trial.
  const SearchStep top = run(spec.max_pps);
  if (top.passed) {
    result.pps = spec.max_pps;
    return result;
  }
  bool high_was_generator = top.outcome.held_up();
  double low = 0, high = spec.max_pps;
  const SearchStep bottom = run(spec.min_pps);
  if (!bottom.passed) return result;
  low = spec.min_pps;
  while (high - low > spec.resolution * high) {
    // Halving in log space while the bracket spans more than a factor of 2 (rates
    // span decades), then in linear space.
    const double mid = high > 2 * low ? std::sqrt(low * high) : low + (high - low) / 2;
    const SearchStep step = run(mid);
    if (step.passed) {
      low = mid;
    } else {
      high = mid;
      high_was_generator = step.outcome.held_up();
    }
  }
  result.pps = low;
  result.generator_bound = high_was_generator;
  return result;
}

}  // namespace sbc::tools::pktgen
