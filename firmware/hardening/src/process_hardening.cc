#include "sbc/firmware/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace sbc::firmware {

std::expected<void, std::string> ForbidCoreDumps() {
  const rlimit none{.rlim_cur = 0, .rlim_max = 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0)
    return std::unexpected(std::string("RLIMIT_CORE: ") + std::strerror(errno));
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    return std::unexpected(std::string("PR_SET_DUMPABLE: ") + std::strerror(errno));
  return {};
}

}  // namespace sbc::firmware
