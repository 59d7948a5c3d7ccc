#include <gtest/gtest.h>

#include <thread>

#include "sbc/dataplane/core/counters.h"

namespace sbc::dataplane {
namespace {

TEST(CountersTest, SumsEveryWorker) {
  WorkerCounters a, b;
  WorkerCounters::Add(a.ports[0].rx_packets, 3);
  WorkerCounters::Add(b.ports[0].rx_packets, 4);
  WorkerCounters::Add(b.ports[5].tx_bytes, 1500);
  a.AddDrop(DropReason::kRuntFrame, 2);
  b.AddDrop(DropReason::kTxQueueFull, 1);
  const WorkerCounters* blocks[] = {&a, &b};
  const CounterTotals totals = SumCounters(blocks);
  EXPECT_EQ(totals.ports[0].rx_packets, 7u);
  EXPECT_EQ(totals.ports[5].tx_bytes, 1500u);
  EXPECT_EQ(totals.drops[static_cast<size_t>(DropReason::kRuntFrame)], 2u);
  EXPECT_EQ(totals.drops_total(), 3u);
}

TEST(CountersTest, ReadsWhileAWorkerWritesSeeMonotonicValues) {
  WorkerCounters counters;
  constexpr uint64_t kAdds = 2'000'000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kAdds; ++i) WorkerCounters::Add(counters.ports[1].rx_packets, 1);
  });
  uint64_t last = 0;
  const WorkerCounters* blocks[] = {&counters};
  while (last < kAdds) {
    const uint64_t now = SumCounters(blocks).ports[1].rx_packets;
    ASSERT_GE(now, last);
    last = now;
  }
  writer.join();
  EXPECT_EQ(SumCounters(blocks).ports[1].rx_packets, kAdds);
}

TEST(CountersTest, BlocksDoNotShareCacheLines) {
  static_assert(alignof(WorkerCounters) == 64);
  static_assert(sizeof(WorkerCounters) % 64 == 0);
}

}  // namespace
}  // namespace sbc::dataplane
