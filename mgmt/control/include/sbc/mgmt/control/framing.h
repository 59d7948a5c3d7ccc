// Frames of the control API: a 4-byte big-endian length, then that many bytes (one
// protobuf Request or Response). Reads are bounded in size and time, so a slow or
// hostile peer can hold one connection at most, and only until its deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::mgmt::control {

// 4 MiB: a 10,000-rule signed bundle is about 1 MiB.
inline constexpr uint32_t kMaxFrameBytes = 4u << 20;

enum class FrameError {
  kClosed,     // the peer closed cleanly between frames
  kTruncated,  // the peer closed inside a frame
  kTooLarge,   // the announced length exceeds the limit; the body is not read
  kTimeout,    // the frame did not arrive completely before the deadline
  kIo,         // the transport failed
};
[[nodiscard]] const char* FrameErrorText(FrameError error);

// A byte stream: a plain socket in tests, a TLS session in the daemon.
class Transport {
 public:
  virtual ~Transport() = default;
  // Reads up to `size` bytes, waiting at most until `deadline`. Returns 0 at end of
  // stream.
  [[nodiscard]] virtual std::expected<size_t, FrameError> Read(void* buffer, size_t size,
                                                               const Deadline& deadline) = 0;
  [[nodiscard]] virtual std::expected<void, FrameError> WriteAll(std::string_view bytes) = 0;
};

// A connected socket (or pipe) file descriptor; does not own it.
class FdTransport final : public Transport {
 public:
  explicit FdTransport(int fd) : fd_(fd) {}
  std::expected<size_t, FrameError> Read(void* buffer, size_t size,
                                         const Deadline& deadline) override;
  std::expected<void, FrameError> WriteAll(std::string_view bytes) override;

 private:
  int fd_;
};

// Reads one whole frame within `timeout` of `clock`. Any thread (one reader per
// transport).
[[nodiscard]] std::expected<std::string, FrameError> ReadFrame(
    Transport& transport, std::chrono::milliseconds timeout, uint32_t max_bytes = kMaxFrameBytes,
    const SteadyClock& clock = SystemSteadyClock());
// Reads one whole frame by `deadline`.
[[nodiscard]] std::expected<std::string, FrameError> ReadFrame(Transport& transport,
                                                               const Deadline& deadline,
                                                               uint32_t max_bytes = kMaxFrameBytes);

// Writes one frame; refuses payloads over `max_bytes` (kTooLarge) without writing.
[[nodiscard]] std::expected<void, FrameError> WriteFrame(Transport& transport,
                                                         std::string_view payload,
                                                         uint32_t max_bytes = kMaxFrameBytes);

}  // namespace sbc::mgmt::control
