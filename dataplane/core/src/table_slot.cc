#include "sbc/dataplane/core/table_slot.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

namespace sbc::dataplane {

std::expected<rte_rcu_qsbr*, std::string> CreateReaders(uint32_t max_workers) {
  const size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  auto* qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("sbc_tables_rcu", size, RTE_CACHE_LINE_SIZE));
  if (qsbr == nullptr || rte_rcu_qsbr_init(qsbr, max_workers) != 0) {
    const std::string why = rte_strerror(rte_errno);
    rte_free(qsbr);
    return std::unexpected("cannot set up RCU for " + std::to_string(max_workers) +
                           " workers: " + why);
  }
  return qsbr;
}

void FreeReaders(rte_rcu_qsbr* qsbr) { rte_free(qsbr); }

void WaitForGracePeriod(rte_rcu_qsbr* qsbr) {
  // What rte_rcu_qsbr_synchronize(qsbr, RTE_QSBR_THRID_INVALID) does, inlined.
  (void)rte_rcu_qsbr_check(qsbr, rte_rcu_qsbr_start(qsbr), /*wait=*/true);
}

bool GracePeriodWaitsOn(const rte_rcu_qsbr* qsbr, uint32_t thread_id) noexcept {
  return __atomic_load_n(&qsbr->token, __ATOMIC_RELAXED) !=
         __atomic_load_n(&qsbr->qsbr_cnt[thread_id].cnt, __ATOMIC_RELAXED);
}

}  // namespace sbc::dataplane
