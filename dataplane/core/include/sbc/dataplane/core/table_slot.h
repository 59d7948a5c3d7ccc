// Publishing a feature's tables to the workers without stopping them.
//
// The control lcore builds the tables off the fast path and Publish()es them with one
// pointer swap; workers load the pointer once per burst and report a quiescent state
// after each poll, so once rte_rcu_qsbr says every worker has passed one, the old
// tables can no longer be in use and are freed. A swap drops no packet. The firewall
// publishes its rule tables this way (FirewallTableSlot); the media table shares the
// slot's QSBR variable for its own grace periods.
#pragma once

#include <atomic>
#include <cstdint>
#include <expected>
#include <memory>
#include <string>

struct rte_rcu_qsbr;

namespace sbc::dataplane {

// Control thread: returns once every worker registered with `qsbr` has reported a
// quiescent state since the call, so nothing unlinked before it is still in use.
// rte_rcu_qsbr_synchronize() without its call into librte_rcu: the wait runs in our
// code, where ThreadSanitizer sees its acquire loads pair with the workers' release
// stores (a wait inside the library would look like no wait at all).
void WaitForGracePeriod(rte_rcu_qsbr* qsbr);

// Worker `thread_id`: whether a grace period has begun that waits on it (one it has
// not yet reported a quiescent state in). A worker that holds pointers past its poll
// (packets with the crypto device) reports quiescent states only once it lets them go,
// and lets them go early when someone waits. Reads what rte_rcu_qsbr_quiescent()
// reads: the token and the worker's own counter.
[[nodiscard]] bool GracePeriodWaitsOn(const rte_rcu_qsbr* qsbr, uint32_t thread_id) noexcept;

// Control thread: a QSBR variable with `max_workers` reader slots (worker thread ids
// 0..max-1), in DPDK memory; FreeReaders() gives it back.
[[nodiscard]] std::expected<rte_rcu_qsbr*, std::string> CreateReaders(uint32_t max_workers);
void FreeReaders(rte_rcu_qsbr* qsbr);

template <typename Tables>
class TableSlot {
 public:
  // Control thread. `max_workers` RCU reader slots (worker thread ids 0..max-1).
  [[nodiscard]] static std::expected<std::unique_ptr<TableSlot>, std::string> Create(
      uint32_t max_workers) {
    std::expected<rte_rcu_qsbr*, std::string> readers = CreateReaders(max_workers);
    if (!readers) return std::unexpected(readers.error());
    std::unique_ptr<TableSlot> slot(new TableSlot());
    slot->qsbr_ = *readers;
    return slot;
  }
  ~TableSlot() {
    delete current_.exchange(nullptr);
    FreeReaders(qsbr_);
  }
  TableSlot(const TableSlot&) = delete;
  TableSlot& operator=(const TableSlot&) = delete;

  // Worker threads: the tables to use for this burst; nullptr before the first
  // publish (fail closed: drop everything).
  const Tables* Current() const noexcept { return current_.load(std::memory_order_acquire); }

  // Control thread. Makes `tables` current, waits for every online worker to pass a
  // quiescent state, then frees the previous tables. On return every worker uses
  // `tables`. Blocks for about one poll loop.
  void Publish(std::unique_ptr<Tables> tables) {
    const Tables* old = current_.exchange(tables.release(), std::memory_order_acq_rel);
    // Wait even for the first publish: when this returns, no worker is still inside a
    // poll that read the previous pointer, so the new tables are in force everywhere.
    // The control thread is not an RCU reader: wait for all registered workers.
    WaitForGracePeriod(qsbr_);
    delete old;
  }

  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  TableSlot() = default;
  std::atomic<const Tables*> current_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
};

}  // namespace sbc::dataplane
