#include "sbc/dataplane/core/counters.h"

namespace sbc::dataplane {
uint64_t CounterTotals::drops_total() const {
  uint64_t total = 0;
  for (uint64_t d : drops) total += d;
  return total;
}

CounterTotals SumCounters(std::span<const WorkerCounters* const> workers) {
  CounterTotals totals;
  for (const WorkerCounters* worker : workers) {
    const WorkerCounters& w = *worker;
    for (size_t p = 0; p < kMaxPorts; ++p) {
      totals.ports[p].rx_packets += LoadShared(w.ports[p].rx_packets);
      totals.ports[p].rx_bytes += LoadShared(w.ports[p].rx_bytes);
      totals.ports[p].tx_packets += LoadShared(w.ports[p].tx_packets);
      totals.ports[p].tx_bytes += LoadShared(w.ports[p].tx_bytes);
    }
    for (size_t r = 0; r < kDropReasonCount; ++r) totals.drops[r] += LoadShared(w.drops[r]);
  }
  return totals;
}

}  // namespace sbc::dataplane
