#include "sbc/mgmt/control/framing.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace sbc::mgmt::control {
namespace {

// Reads exactly `size` bytes. `started` says whether part of the frame was read
// already, which turns an end of stream into a truncation.
std::expected<void, FrameError> ReadExactly(Transport& t, char* out, size_t size,
                                            const Deadline& deadline, bool started) {
  size_t done = 0;
  while (done < size) {
    auto n = t.Read(out + done, size - done, deadline);
    if (!n) return std::unexpected(n.error());
    if (*n == 0)
      return std::unexpected(started || done > 0 ? FrameError::kTruncated : FrameError::kClosed);
    done += *n;
  }
  return {};
}

class SystemClock final : public SteadyClock {
 public:
  time_point Now() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const SteadyClock& SystemSteadyClock() {
  static const SystemClock clock;
  return clock;
}

const char* FrameErrorText(FrameError error) {
  switch (error) {
    case FrameError::kClosed:
      return "connection closed";
    case FrameError::kTruncated:
      return "connection closed inside a frame";
    case FrameError::kTooLarge:
      return "frame larger than the limit";
    case FrameError::kTimeout:
      return "frame not received in time";
    case FrameError::kIo:
      return "transport error";
  }
  return "unknown frame error";
}

std::expected<size_t, FrameError> FdTransport::Read(void* buffer, size_t size,
                                                    const Deadline& deadline) {
  for (;;) {
    if (deadline.passed()) return std::unexpected(FrameError::kTimeout);
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, deadline.poll_ms());
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return std::unexpected(FrameError::kIo);
    if (ready == 0) continue;  // a slice passed: look at the clock again
    const ssize_t n = read(fd_, buffer, size);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return std::unexpected(FrameError::kIo);
    return static_cast<size_t>(n);
  }
}

std::expected<void, FrameError> FdTransport::WriteAll(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::unexpected(FrameError::kIo);
    done += static_cast<size_t>(n);
  }
  return {};
}

std::expected<std::string, FrameError> ReadFrame(Transport& transport,
                                                 std::chrono::milliseconds timeout,
                                                 uint32_t max_bytes, const SteadyClock& clock) {
  return ReadFrame(transport, Deadline::In(timeout, clock), max_bytes);
}

std::expected<std::string, FrameError> ReadFrame(Transport& transport, const Deadline& deadline,
                                                 uint32_t max_bytes) {
  unsigned char header[4];
  if (auto ok = ReadExactly(transport, reinterpret_cast<char*>(header), 4, deadline, false); !ok)
    return std::unexpected(ok.error());
  const uint32_t length =
      uint32_t(header[0]) << 24 | uint32_t(header[1]) << 16 | uint32_t(header[2]) << 8 | header[3];
  if (length > max_bytes) return std::unexpected(FrameError::kTooLarge);
  std::string payload(length, '\0');
  if (auto ok = ReadExactly(transport, payload.data(), length, deadline, true); !ok)
    return std::unexpected(ok.error());
  return payload;
}

std::expected<void, FrameError> WriteFrame(Transport& transport, std::string_view payload,
                                           uint32_t max_bytes) {
  if (payload.size() > max_bytes) return std::unexpected(FrameError::kTooLarge);
  const auto n = static_cast<uint32_t>(payload.size());
  std::string frame = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  frame.append(payload);
  return transport.WriteAll(frame);
}

}  // namespace sbc::mgmt::control
