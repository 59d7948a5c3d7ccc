#include <rte_eal.h>
#include <rte_errno.h>

#include <filesystem>

#include "sbc/drivers/eal.h"

namespace sbc::drivers {

std::expected<void, std::string> InitEal(const board::Board& board, const EalOptions& options) {
  if (auto cores = CheckCoresAvailable(board, board.name()); !cores) return cores;

  std::vector<std::string> args = EalArguments(board, options);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  // EAL may permute argv; it keeps pointers into it, so `args` must outlive the call
  // only (EAL copies what it keeps).
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    const int err = rte_errno;
    std::string hint;
    if (err == EALREADY) hint = " (EAL is already initialised in this process)";
    if (err == ENOTSUP) hint = " (a device named by the board could not be probed)";
    if (err == ENOMEM) hint = " (memory.size_mb is too small, or hugepages are missing)";
    return std::unexpected("DPDK EAL initialisation failed for board " + board.name() + ": " +
                           rte_strerror(err) + hint);
  }
  return {};
}

void CleanupEal(const board::Board& board) {
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ec;
  if (!board.memory().hugepages() && !runtime_dir.empty())
    std::filesystem::remove_all(runtime_dir, ec);
}

}  // namespace sbc::drivers
