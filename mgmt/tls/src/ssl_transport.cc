#include "sbc/mgmt/tls/ssl_transport.h"

#include <mbedtls/net_sockets.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace sbc::mgmt::tls {

int DeadlineBio::Send(void* bio, const unsigned char* buffer, size_t length) {
  const auto* self = static_cast<const DeadlineBio*>(bio);
  const ssize_t n = send(self->fd, buffer, length, MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EINTR || errno == EAGAIN) return MBEDTLS_ERR_SSL_WANT_WRITE;
  return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                               : MBEDTLS_ERR_NET_SEND_FAILED;
}

int DeadlineBio::Recv(void* bio, unsigned char* buffer, size_t length) {
  const auto* self = static_cast<const DeadlineBio*>(bio);
  for (;;) {
    if ((self->stop != nullptr && self->stop->load()) || self->deadline.passed())
      return MBEDTLS_ERR_SSL_TIMEOUT;
    pollfd pfd{self->fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, self->deadline.poll_ms());
    if (ready == 0 || (ready < 0 && errno == EINTR))
      continue;  // a slice passed: look at the clock again
    if (ready < 0) return MBEDTLS_ERR_NET_RECV_FAILED;
    const ssize_t n = recv(self->fd, buffer, length, 0);
    if (n >= 0) return static_cast<int>(n);  // 0: the peer closed
    if (errno == EINTR || errno == EAGAIN) continue;
    return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
  }
}

std::expected<size_t, control::FrameError> SslTransport::Read(void* buffer, size_t size,
                                                              const control::Deadline& deadline) {
  if (bio_ != nullptr) bio_->deadline = deadline;
  for (;;) {
    if (deadline.passed()) return std::unexpected(control::FrameError::kTimeout);
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
    const int n = mbedtls_ssl_write(
        ssl_, reinterpret_cast<const unsigned char*>(bytes.data()) + done, bytes.size() - done);
    if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (n <= 0) return std::unexpected(control::FrameError::kIo);
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace sbc::mgmt::tls
