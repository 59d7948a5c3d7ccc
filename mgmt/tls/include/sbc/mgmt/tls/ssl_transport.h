// Control-API frames over an established mbedTLS session (either end).
#pragma once

#include <mbedtls/ssl.h>

#include "sbc/mgmt/control/framing.h"

namespace sbc::mgmt::tls {

class SslTransport final : public control::Transport {
 public:
  explicit SslTransport(mbedtls_ssl_context* ssl) : ssl_(ssl) {}
  // Reads until data, end of stream, the deadline, or the session's own read timeout.
  std::expected<size_t, control::FrameError> Read(void* buffer, size_t size,
                                                  std::chrono::steady_clock::time_point deadline) override;
  std::expected<void, control::FrameError> WriteAll(std::string_view bytes) override;

 private:
  mbedtls_ssl_context* ssl_;
};

}  // namespace sbc::mgmt::tls
