#include "sbc/firmware/integrity.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sbc::firmware {

namespace {

const schema::FirmwareFile* Entry(const BootedSlot& booted, const std::string& path) {
  for (const schema::FirmwareFile& file : booted.verified.manifest.files())
    if (file.path() == path) return &file;
  return nullptr;
}

}  // namespace

std::expected<void, std::string> CheckSlotFile(const BootedSlot& booted, const std::string& path) {
  const schema::FirmwareFile* entry = Entry(booted, path);
  if (entry == nullptr) return std::unexpected(path + ": not in the signed manifest");
  if (auto ok = mgmt::image::VerifyFile(booted.root / path, *entry); !ok)
    return std::unexpected(ok.error().message);
  return {};
}

std::vector<std::string> CheckIntegrity(const BootedSlot& booted,
                                        const std::vector<std::pair<std::string, pid_t>>& running) {
  std::vector<std::string> findings;
  if (auto ok = mgmt::image::VerifyTree(booted.root, booted.verified.manifest); !ok)
    findings.push_back("slot " + booted.slot + " files: " + ok.error().message);
  for (const auto& [name, pid] : running) {
    const std::string path = "bin/" + name;
    const schema::FirmwareFile* entry = Entry(booted, path);
    if (entry == nullptr) {
      findings.push_back(std::string(name)
                             .append(" runs, but ")
                             .append(path)
                             .append(" is not in the signed manifest"));
      continue;
    }
    const std::string exe = "/proc/" + std::to_string(pid) + "/exe";
    const int fd = open(exe.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // It may just have exited; the supervisor sees that on its next poll.
      if (errno != ENOENT && errno != ESRCH)
        findings.push_back(std::string(name)
                               .append(" (pid ")
                               .append(std::to_string(pid))
                               .append("): ")
                               .append(exe)
                               .append(": ")
                               .append(std::strerror(errno)));
      continue;
    }
    auto ok = mgmt::image::VerifyOpenFile(fd, *entry);
    close(fd);
    if (!ok)
      findings.push_back(name + " (pid " + std::to_string(pid) +
                         ") runs an executable that is not the signed one: " + ok.error().message);
  }
  return findings;
}

}  // namespace sbc::firmware
