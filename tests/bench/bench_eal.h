// EAL for an in-process bench: one lcore, no hugepages, no PCI, a private file prefix.
#pragma once

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace sbc::bench {

// Starts EAL with `memory_mb` of (non-huge) memory, or exits naming the reason.
inline void InitEal(const std::string& name, int memory_mb) {
  std::vector<std::string> args = {name,
                                   "--no-huge",
                                   "-m",
                                   std::to_string(memory_mb),
                                   "--no-pci",
                                   "--no-shconf",
                                   "--file-prefix=" + name + "-" + std::to_string(getpid()),
                                   "-l",
                                   "0",
                                   "--log-level=*:warning",
                                   "--no-telemetry"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "%s: EAL: %s\n", name.c_str(), rte_strerror(rte_errno));
    std::exit(1);
  }
}

}  // namespace sbc::bench
