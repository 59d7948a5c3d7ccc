// DPDK Environment Abstraction Layer bring-up, derived from the board description.
//
// EAL arguments are never typed by hand: cores, memory, devices and PCI allow-lists
// all come from the board, so a board file is the one place a model is described.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/board/board.h"

namespace sbc::drivers {

struct EalOptions {
  // argv[0] as EAL sees it; shows up in DPDK's log lines.
  std::string program = "sbc-dataplane";
  // Names EAL's runtime files so several processes (tests) can run side by side.
  std::string file_prefix = "sbc";
  // DPDK's log level for all components: EAL is chatty at "info".
  std::string log_level = "*:warning";
};

// The argv EAL gets for `board`, program name first. Pure; any thread.
// net_ring ports are left out: drivers/nic creates them from its own rings.
[[nodiscard]] std::vector<std::string> EalArguments(const board::Board& board,
                                                    const EalOptions& options);

// Fails, naming the first offending field, when a core the board assigns (main or
// worker) is not in this process's CPU affinity set. `origin` names the board in the
// message (its file). Any thread.
[[nodiscard]] std::expected<void, std::string> CheckCoresAvailable(const board::Board& board,
                                                                   std::string_view origin);

// Checks cores, then initialises EAL with EalArguments(). Call once per process from
// the main thread before any other DPDK call. Returns one line naming what failed,
// with DPDK's errno text, instead of letting EAL panic.
[[nodiscard]] std::expected<void, std::string> InitEal(const board::Board& board,
                                                       const EalOptions& options);

// Releases EAL resources at exit. Main thread, after every port is closed. Boards
// without hugepages run with --no-shconf: nothing else can use their runtime
// directory (telemetry socket and all), so it is removed too.
void CleanupEal(const board::Board& board);

}  // namespace sbc::drivers
