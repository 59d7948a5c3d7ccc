// Control-API frames over an established mbedTLS session (either end), and the socket
// callbacks that bound every read by a deadline.
#pragma once

#include <mbedtls/ssl.h>

#include <atomic>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::mgmt::tls {

// mbedTLS's socket callbacks (mbedtls_ssl_set_bio with Send and Recv) for a socket
// whose reads all end by `deadline`, however the peer drips its bytes: the caller sets
// one for a whole handshake, then one per frame. Recv gives up with
// MBEDTLS_ERR_SSL_TIMEOUT once it has passed, or once `stop` is set.
struct DeadlineBio {
  int fd = -1;
  control::Deadline deadline{&control::SystemSteadyClock(), {}};
  const std::atomic<bool>* stop = nullptr;

  static int Send(void* bio, const unsigned char* buffer, size_t length);
  static int Recv(void* bio, unsigned char* buffer, size_t length);
};

class SslTransport final : public control::Transport {
 public:
  // With `bio` (the session's), each Read() sets its deadline; without, the session's
  // own read timeout bounds each record and Read() checks the deadline between them.
  explicit SslTransport(mbedtls_ssl_context* ssl, DeadlineBio* bio = nullptr)
      : ssl_(ssl), bio_(bio) {}
  std::expected<size_t, control::FrameError> Read(void* buffer, size_t size,
                                                  const control::Deadline& deadline) override;
  std::expected<void, control::FrameError> WriteAll(std::string_view bytes) override;

 private:
  mbedtls_ssl_context* ssl_;
  DeadlineBio* bio_;
};

}  // namespace sbc::mgmt::tls
