// The control API's listener: TLS 1.2 only, mutual authentication against the
// appliance's management CA, ECDHE-ECDSA with AES-GCM only, P-256/P-384, SHA-256+,
// no renegotiation; every setting explicit, none left at an mbedTLS default (2.28's
// defaults accept TLS 1.0 and no client certificate). There is no plaintext listener.
//
// Each connection is served on its own thread, at most `max_clients` at once, one
// frame (mgmt/control framing) at a time. A failed handshake, a bad frame or a slow
// peer closes that connection only. Before it has authenticated, a peer has one whole
// handshake_timeout for the handshake however it drips its bytes, and at most
// max_unauthenticated connections may be in that state: peers without a certificate
// can never hold the slots of those with one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::mgmt::tls {

struct TlsServerConfig {
  std::string listen_address = "127.0.0.1";  // loopback: operators come through ssh -L
  uint16_t port = 4443;                      // 0: any free port (tests)
  std::string ca_pem;    // the management CA; client certificates must chain to it
  std::string cert_pem;  // the appliance's server certificate (ECDSA)
  std::string key_pem;   // its private key
  uint32_t max_clients = 32;
  // Connections still in their handshake, at most (0: max_clients / 4, at least 1);
  // must be below max_clients. Beyond it a new connection is closed at once.
  uint32_t max_unauthenticated = 0;
  std::chrono::milliseconds handshake_timeout{10'000};  // the whole handshake
  std::chrono::milliseconds read_timeout{10'000};       // each frame, once it has begun
  // A connection with no new frame for this long is closed
  // (management.session_idle_timeout_s). Waited for outside mbedTLS, on the socket.
  std::chrono::milliseconds idle_timeout{900'000};
  uint32_t max_frame_bytes = 4u << 20;
  // The time the deadlines above run on (tests move it); nullptr: the system's.
  const control::SteadyClock* clock = nullptr;
};

// Who is on the other end: from the verified client certificate (one the management
// CA issued for a TLS client: a server certificate is refused at the handshake).
struct ClientIdentity {
  std::string common_name;  // the user name it claims
  std::string serial_hex;   // certificate serial, for audit
  std::string key_id;       // its public key's pki::KeyId: what the user must be bound to
};

struct TlsServerStats {
  uint64_t accepted = 0;
  uint64_t handshake_failures = 0;  // timeouts included
  uint64_t handshake_timeouts = 0;  // no complete handshake within handshake_timeout
  uint64_t refused_over_limit = 0;
  uint64_t refused_unauthenticated = 0;  // max_unauthenticated handshakes were under way
  uint64_t frames = 0;
  uint64_t bad_frames = 0;   // connections closed for a bad, oversized or late frame
  uint64_t idle_closed = 0;  // connections closed after idle_timeout without a frame
};

// Turns one request frame into one response frame. Runs on connection threads,
// concurrently; must be thread-safe.
using FrameHandler = std::function<std::string(const ClientIdentity&, const std::string& request)>;

class TlsServer {
 public:
  // Binds, loads the credentials, and starts accepting. Fails with a one-line reason
  // (bad PEM, address in use) naming the file or address.
  [[nodiscard]] static std::expected<std::unique_ptr<TlsServer>, std::string> Start(
      const TlsServerConfig& config, FrameHandler handler);
  ~TlsServer();  // Stop()s
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  uint16_t port() const { return port_; }
  // Presents a new certificate and key from the next handshake on (key rotation);
  // connections already open keep theirs. Refuses a pair that does not match, and
  // then the old one stays. Any thread.
  [[nodiscard]] std::expected<void, std::string> ReplaceCredential(const std::string& cert_pem,
                                                                   const std::string& key_pem);
  TlsServerStats stats() const;
  // Stops accepting, closes every connection and waits for their threads.
  void Stop();

 private:
  struct State;
  TlsServer() = default;
  std::unique_ptr<State> state_;
  uint16_t port_ = 0;
};

}  // namespace sbc::mgmt::tls
