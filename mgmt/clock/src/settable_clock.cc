#include "sbc/mgmt/clock/settable_clock.h"

#include <time.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "sbc/mgmt/base/atomic_file.h"

namespace sbc::mgmt::clock {
namespace {

int64_t HostNowUnixMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

std::expected<void, std::string> CheckRange(int64_t unix_ms) {
  if (unix_ms < kEarliestUnixMs || unix_ms >= kLatestUnixMs)
    return std::unexpected(FormatUtc(unix_ms) + " is outside the accepted range " +
                           FormatUtc(kEarliestUnixMs) + " to " + FormatUtc(kLatestUnixMs));
  return {};
}

class RealtimeClock final : public SettableClock {
 public:
  int64_t NowUnixMs() const override { return HostNowUnixMs(); }
  std::expected<void, std::string> Set(int64_t unix_ms) override {
    if (auto ok = CheckRange(unix_ms); !ok) return ok;
    const timespec ts{.tv_sec = unix_ms / 1000, .tv_nsec = (unix_ms % 1000) * 1'000'000};
    if (clock_settime(CLOCK_REALTIME, &ts) != 0) {
      if (errno == EPERM)
        return std::unexpected(std::string("sbc-mgmtd lacks CAP_SYS_TIME to set the system clock"));
      return std::unexpected(std::string("clock_settime: ") + std::strerror(errno));
    }
    return {};
  }
};

class OffsetClock final : public SettableClock {
 public:
  OffsetClock(std::filesystem::path file, int64_t offset_ms)
      : file_(std::move(file)), offset_ms_(offset_ms) {}
  int64_t NowUnixMs() const override {
    return HostNowUnixMs() + offset_ms_.load(std::memory_order_relaxed);
  }
  std::expected<void, std::string> Set(int64_t unix_ms) override {
    if (auto ok = CheckRange(unix_ms); !ok) return ok;
    const int64_t offset = unix_ms - HostNowUnixMs();
    // Durable first: after a restart the appliance keeps the time it was given.
    if (auto ok = base::WriteFileAtomically(file_.parent_path(), file_.filename().string(),
                                            std::to_string(offset) + "\n");
        !ok)
      return std::unexpected(ok.error());
    offset_ms_.store(offset, std::memory_order_relaxed);
    return {};
  }

 private:
  std::filesystem::path file_;
  std::atomic<int64_t> offset_ms_;  // read by connection threads, written under the service's lock
};

}  // namespace

std::unique_ptr<SettableClock> SystemRealtimeClock() { return std::make_unique<RealtimeClock>(); }

std::expected<std::unique_ptr<SettableClock>, std::string> OffsetFileClock(
    const std::filesystem::path& offset_file) {
  int64_t offset = 0;
  if (std::filesystem::exists(offset_file)) {
    auto text = base::ReadFile(offset_file);
    if (!text) return std::unexpected(text.error());
    const char* begin = text->data();
    const char* end = begin + text->size();
    while (end > begin && (end[-1] == '\n' || end[-1] == ' ')) --end;
    const auto [ptr, ec] = std::from_chars(begin, end, offset);
    if (ec != std::errc() || ptr != end || begin == end)
      return std::unexpected(offset_file.string() + ": not a clock offset in milliseconds");
  }
  std::error_code ec;
  std::filesystem::create_directories(offset_file.parent_path(), ec);
  return std::make_unique<OffsetClock>(offset_file, offset);
}

std::string FormatUtc(int64_t unix_ms) {
  // Floor division, so times before 1970 print correctly too.
  int64_t seconds = unix_ms / 1000, millis = unix_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    seconds -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[80];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return text;
}

std::expected<int64_t, std::string> ParseUtc(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest != nullptr && *rest == '.') {
    int digits = 0;
    for (++rest; *rest >= '0' && *rest <= '9' && digits < 3; ++rest, ++digits)
      millis = millis * 10 + (*rest - '0');
    if (digits != 3) rest = nullptr;
  }
  if (rest == nullptr || std::strcmp(rest, "Z") != 0)
    return std::unexpected("\"" + text + "\" is not a UTC time like 2026-11-28T20:15:00Z");
  return int64_t(timegm(&tm)) * 1000 + millis;
}

}  // namespace sbc::mgmt::clock
