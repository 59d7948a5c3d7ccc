// Refuses a board whose cores this process may not run on, before EAL tries (EAL's
// own message for this case names an lcore index, not the board field).
#include <sched.h>

#include <set>
#include <sstream>

#include "sbc/drivers/eal.h"

namespace sbc::drivers {
namespace {

// "0-3,6" style rendering of the affinity set, for the error message.
std::string DescribeCpuSet(const cpu_set_t& set) {
  std::ostringstream out;
  int run_start = -1;
  bool first = true;
  for (int cpu = 0; cpu <= CPU_SETSIZE; ++cpu) {
    const bool in = cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set);
    if (in && run_start < 0) run_start = cpu;
    if (!in && run_start >= 0) {
      out << (first ? "" : ",") << run_start;
      if (cpu - 1 > run_start) out << "-" << cpu - 1;
      first = false;
      run_start = -1;
    }
  }
  return out.str();
}

}  // namespace

std::expected<void, std::string> CheckCoresAvailable(const board::Board& board,
                                                     std::string_view origin) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
    return std::unexpected(std::string("cannot read this process's CPU affinity"));

  auto unavailable = [&](uint32_t core, const std::string& field) {
    std::ostringstream msg;
    msg << "board " << origin << ": " << field << ": core " << core
        << " is not available to this process (available: " << DescribeCpuSet(allowed) << ")";
    return std::unexpected(msg.str());
  };
  const uint32_t main_core = board.cpu().main_core();
  if (main_core >= CPU_SETSIZE || !CPU_ISSET(main_core, &allowed))
    return unavailable(main_core, "cpu.main_core");
  for (int i = 0; i < board.cpu().worker_cores_size(); ++i) {
    const uint32_t core = board.cpu().worker_cores(i);
    if (core >= CPU_SETSIZE || !CPU_ISSET(core, &allowed))
      return unavailable(core, "cpu.worker_cores[" + std::to_string(i) + "]");
  }
  return {};
}

}  // namespace sbc::drivers
