#include "sbc/drivers/watchdog.h"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>

namespace sbc::drivers {
namespace {

namespace fs = std::filesystem;

constexpr char kDisarmed[] = "disarmed";
// A kick is one fixed-width record at offset 0, so a reader never sees half of one.
constexpr size_t kRecordBytes = 24;

uint64_t MonotonicMs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1'000'000;
}

class DeviceWatchdog final : public Watchdog {
 public:
  explicit DeviceWatchdog(int fd) : fd_(fd) {}
  ~DeviceWatchdog() override {
    if (fd_ >= 0) close(fd_);  // without the magic "V": the board resets (not clean)
  }
  std::expected<void, std::string> Kick() override {
    if (ioctl(fd_, WDIOC_KEEPALIVE, 0) != 0)
      return std::unexpected(std::string("watchdog keepalive: ") + std::strerror(errno));
    return {};
  }
  void Disarm() override {
    if (fd_ < 0) return;
    (void)!write(fd_, "V", 1);
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

class FileWatchdog final : public Watchdog {
 public:
  explicit FileWatchdog(int fd) : fd_(fd) {}
  ~FileWatchdog() override {
    if (fd_ >= 0) close(fd_);
  }
  std::expected<void, std::string> Kick() override { return Write(std::to_string(MonotonicMs())); }
  void Disarm() override { (void)Write(kDisarmed); }

 private:
  std::expected<void, std::string> Write(const std::string& value) {
    std::string record = value;
    record.resize(kRecordBytes - 1, ' ');
    record.push_back('\n');
    if (pwrite(fd_, record.data(), record.size(), 0) != static_cast<ssize_t>(record.size()))
      return std::unexpected(std::string("watchdog file: ") + std::strerror(errno));
    return {};
  }
  int fd_;
};

}  // namespace

std::expected<std::unique_ptr<Watchdog>, std::string> OpenWatchdog(const schema::Watchdog& watchdog,
                                                                   const fs::path& data_dir) {
  fs::path path(watchdog.path());
  if (path.is_relative()) path = data_dir / path;
  if (!watchdog.file_backed()) {
    const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return std::unexpected(path.string() + ": " + std::strerror(errno));
    int timeout = static_cast<int>(watchdog.timeout_s());
    if (ioctl(fd, WDIOC_SETTIMEOUT, &timeout) != 0) {
      const std::string error = path.string() + ": WDIOC_SETTIMEOUT: " + std::strerror(errno);
      close(fd);
      return std::unexpected(error);
    }
    return std::make_unique<DeviceWatchdog>(fd);
  }
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(path.string() + ": " + std::strerror(errno));
  auto dog = std::make_unique<FileWatchdog>(fd);
  if (auto armed = dog->Kick(); !armed) return std::unexpected(armed.error());
  return dog;
}

std::expected<std::optional<uint64_t>, std::string> FileWatchdogSilenceMs(const fs::path& file) {
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<uint64_t>();
    return std::unexpected(file.string() + ": " + std::strerror(errno));
  }
  char record[kRecordBytes] = {};
  const ssize_t n = pread(fd, record, sizeof record, 0);
  close(fd);
  if (n <= 0) return std::optional<uint64_t>();
  const std::string_view text(record, static_cast<size_t>(n));
  if (text.starts_with(kDisarmed)) return std::optional<uint64_t>();
  uint64_t kicked = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), kicked);
  if (ec != std::errc()) return std::unexpected(file.string() + ": not a watchdog record");
  const uint64_t now = MonotonicMs();
  return std::optional<uint64_t>(now > kicked ? now - kicked : 0);
}

}  // namespace sbc::drivers
