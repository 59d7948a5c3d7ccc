#include "sbc/mgmt/base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sbc::mgmt::base {
namespace {

constexpr std::string_view kTempSuffix = ".tmp";

std::unexpected<std::string> Failed(const std::filesystem::path& file, std::string_view step) {
  return std::unexpected(file.string() + ": " + std::string(step) +
                         " failed: " + std::strerror(errno));
}

void Step(const CrashHook& hook, const std::string& name, std::string_view step) {
  if (hook) hook(name + ":" + std::string(step));
}

}  // namespace

std::expected<void, std::string> WriteFileAtomically(const std::filesystem::path& dir,
                                                     const std::string& name,
                                                     std::string_view bytes,
                                                     const CrashHook& hook) {
  const std::filesystem::path target = dir / name;
  const std::filesystem::path temp = dir / (name + std::string(kTempSuffix));
  // A fresh file of our own, never one planted in our place: whatever has the temp
  // name (a crash's leftover, or a link someone made to a file they want overwritten)
  // goes first, and the new one must be created, not found, and not through a link.
  if (unlink(temp.c_str()) != 0 && errno != ENOENT) return Failed(temp, "remove the stale");
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Failed(temp, "create");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return Failed(temp, "write");
    }
    done += static_cast<size_t>(n);
  }
  Step(hook, name, "temp-written");
  if (fsync(fd) != 0) {
    close(fd);
    return Failed(temp, "fsync");
  }
  close(fd);
  Step(hook, name, "temp-synced");
  if (rename(temp.c_str(), target.c_str()) != 0) return Failed(target, "rename");
  Step(hook, name, "renamed");
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Failed(dir, "open directory");
  const bool synced = fsync(dir_fd) == 0;
  close(dir_fd);
  if (!synced) return Failed(dir, "fsync directory");
  Step(hook, name, "dir-synced");
  return {};
}

std::expected<std::string, std::string> ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::unexpected(file.string() + ": cannot be read");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

size_t RemoveTempFiles(const std::filesystem::path& dir) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(kTempSuffix) && std::filesystem::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace sbc::mgmt::base
