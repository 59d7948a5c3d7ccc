#include "sbc/dataplane/table_slot.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace sbc::dataplane {

std::expected<std::unique_ptr<TableSlot>, std::string> TableSlot::Create(uint32_t max_workers) {
  std::unique_ptr<TableSlot> slot(new TableSlot());
  const size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  slot->qsbr_ =
      static_cast<rte_rcu_qsbr*>(rte_zmalloc("sbc_tables_rcu", size, RTE_CACHE_LINE_SIZE));
  if (slot->qsbr_ == nullptr || rte_rcu_qsbr_init(slot->qsbr_, max_workers) != 0)
    return std::unexpected("cannot set up RCU for " + std::to_string(max_workers) +
                           " workers: " + rte_strerror(rte_errno));
  return slot;
}

TableSlot::~TableSlot() {
  delete current_.exchange(nullptr);
  rte_free(qsbr_);
}

void TableSlot::Publish(std::unique_ptr<FirewallTables> tables) {
  const FirewallTables* old = current_.exchange(tables.release(), std::memory_order_acq_rel);
  // Wait even for the first publish: when this returns, no worker is still inside a
  // poll that read the previous pointer, so the new tables are in force everywhere.
  // The control thread is not an RCU reader: wait for all registered workers.
  WaitForGracePeriod(qsbr_);
  delete old;
}

void WaitForGracePeriod(rte_rcu_qsbr* qsbr) {
  // What rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID) does, inlined.
  (void)rte_rcu_qsbr_check(qsbr, rte_rcu_qsbr_start(qsbr), /*wait=*/true);
}

}  // namespace sbc::dataplane
