// The control API's listener: TLS 1.2 only, mutual authentication against the
// appliance's management CA, ECDHE-ECDSA with AES-GCM only, P-256/P-384, SHA-256+,
// no renegotiation; every setting explicit, none left at an mbedTLS default (2.28's
// defaults accept TLS 1.0 and no client certificate). There is no plaintext listener.
//
// Each connection is served on its own thread, at most `max_clients` at once, one
// frame (mgmt/control framing) at a time. A failed handshake, a bad frame or a slow
// peer closes that connection only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

namespace sbc::mgmt::tls {

struct TlsServerConfig {
  std::string listen_address = "127.0.0.1";  // loopback: operators come through ssh -L
  uint16_t port = 4443;                      // 0: any free port (tests)
  std::string ca_pem;    // the management CA; client certificates must chain to it
  std::string cert_pem;  // the appliance's server certificate (ECDSA)
  std::string key_pem;   // its private key
  uint32_t max_clients = 32;
  std::chrono::milliseconds read_timeout{10'000};  // per frame, and for the handshake
  // A connection with no new frame for this long is closed
  // (management.session_idle_timeout_s). Waited for outside mbedTLS, on the socket.
  std::chrono::milliseconds idle_timeout{900'000};
  uint32_t max_frame_bytes = 4u << 20;
};

// Who is on the other end: from the verified client certificate.
struct ClientIdentity {
  std::string common_name;  // the user name
  std::string serial_hex;   // certificate serial, for revocation and audit
};

struct TlsServerStats {
  uint64_t accepted = 0;
  uint64_t handshake_failures = 0;
  uint64_t refused_over_limit = 0;
  uint64_t frames = 0;
  uint64_t bad_frames = 0;  // connections closed for a bad, oversized or late frame
  uint64_t idle_closed = 0; // connections closed after idle_timeout without a frame
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
