// Publishing firewall tables to the workers without stopping them.
//
// The control lcore builds a FirewallTables off the fast path and Publish()es it with
// one pointer swap; workers load the pointer once per burst and report a quiescent
// state after each poll, so once rte_rcu_qsbr says every worker has passed one, the old
// tables can no longer be in use and are freed. A swap drops no packet.
#pragma once

#include <atomic>
#include <expected>
#include <memory>
#include <string>

#include "sbc/dataplane/firewall_tables.h"

struct rte_rcu_qsbr;

namespace sbc::dataplane {

// Control thread: returns once every worker registered with `qsbr` has reported a
// quiescent state since the call, so nothing unlinked before it is still in use.
// rte_rcu_qsbr_synchronize() without its call into librte_rcu: the wait runs in our
// code, where ThreadSanitizer sees its acquire loads pair with the workers' release
// stores (a wait inside the library would look like no wait at all).
void WaitForGracePeriod(rte_rcu_qsbr* qsbr);

class TableSlot {
 public:
  // Control thread. `max_workers` RCU reader slots (worker thread ids 0..max-1).
  [[nodiscard]] static std::expected<std::unique_ptr<TableSlot>, std::string> Create(
      uint32_t max_workers);
  ~TableSlot();
  TableSlot(const TableSlot&) = delete;
  TableSlot& operator=(const TableSlot&) = delete;

  // Worker threads: the tables to use for this burst; nullptr before the first
  // publish (fail closed: drop everything).
  const FirewallTables* Current() const noexcept {
    return current_.load(std::memory_order_acquire);
  }

  // Control thread. Makes `tables` current, waits for every online worker to pass a
  // quiescent state, then frees the previous tables. On return every worker uses
  // `tables`. Blocks for about one poll loop.
  void Publish(std::unique_ptr<FirewallTables> tables);

  rte_rcu_qsbr* qsbr() const { return qsbr_; }

 private:
  TableSlot() = default;
  std::atomic<const FirewallTables*> current_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
};

}  // namespace sbc::dataplane
