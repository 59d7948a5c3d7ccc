#include "sbc/mgmt/tls/ssl_transport.h"

namespace sbc::mgmt::tls {

std::expected<size_t, control::FrameError> SslTransport::Read(void* buffer, size_t size,
                                                              std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    if (std::chrono::steady_clock::now() >= deadline) return std::unexpected(control::FrameError::kTimeout);
    const int n = mbedtls_ssl_read(ssl_, static_cast<unsigned char*>(buffer), size);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0 || n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return 0;
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n == MBEDTLS_ERR_SSL_TIMEOUT) return std::unexpected(control::FrameError::kTimeout);
    return std::unexpected(control::FrameError::kIo);
  }
}

std::expected<void, control::FrameError> SslTransport::WriteAll(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const int n = mbedtls_ssl_write(ssl_, reinterpret_cast<const unsigned char*>(bytes.data()) + done,
                                    bytes.size() - done);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n <= 0) return std::unexpected(control::FrameError::kIo);
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace sbc::mgmt::tls
