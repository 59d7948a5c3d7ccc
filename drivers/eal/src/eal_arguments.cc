#include <sstream>

#include "sbc/drivers/eal.h"

namespace sbc::drivers {

std::vector<std::string> EalArguments(const board::Board& board, const EalOptions& options) {
  std::vector<std::string> args{options.program};

  std::ostringstream lcores;
  lcores << board.cpu().main_core();
  for (uint32_t core : board.cpu().worker_cores()) lcores << "," << core;
  args.insert(args.end(),
              {"-l", lcores.str(), "--main-lcore", std::to_string(board.cpu().main_core())});

  const std::string memory_mb = std::to_string(board.memory().size_mb());
  if (board.memory().hugepages()) {
    args.insert(args.end(), {"-m", memory_mb});
  } else {
    // Without hugepages no other process can share our memory, so skip the shared
    // config files as well: nothing is left behind in /var/run after a crash.
    args.insert(args.end(), {"--no-huge", "-m", memory_mb, "--no-shconf"});
  }
  args.push_back("--file-prefix=" + options.file_prefix);

  // PCI devices are allow-listed one by one: EAL must not grab the management NIC.
  bool any_pci = false;
  auto allow_pci = [&](const std::string& address) {
    args.insert(args.end(), {"-a", address});
    any_pci = true;
  };
  for (const auto& port : board.ports()) {
    if (port.has_pci())
      allow_pci(port.pci());
    else if (port.has_vdev() && board::VdevDriver(port.vdev()) != "net_ring")
      args.push_back("--vdev=" + port.vdev());
  }
  if (board.crypto().has_pci()) allow_pci(board.crypto().pci());
  if (board.crypto().has_vdev()) args.push_back("--vdev=" + board.crypto().vdev());
  if (!any_pci) args.push_back("--no-pci");

  args.push_back("--log-level=" + options.log_level);
  return args;
}

}  // namespace sbc::drivers
