#include "sbc/mgmt/tls/tls_server.h"

#include <arpa/inet.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "sbc/mgmt/base/drbg.h"
#include "sbc/mgmt/base/mbedtls_error.h"
#include "sbc/mgmt/control/connection_threads.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/tls/ssl_transport.h"
#include "sbc/mgmt/tls/tls_config.h"

namespace sbc::mgmt::tls {
namespace {

// PEM parsers want the terminating NUL counted.
const unsigned char* Pem(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.c_str());
}

ClientIdentity IdentityOf(const mbedtls_x509_crt* cert) {
  ClientIdentity id;
  if (cert == nullptr) return id;
  id.key_id = pki::KeyId(*cert);
  for (const mbedtls_x509_name* n = &cert->subject; n != nullptr; n = n->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
      id.common_name.assign(reinterpret_cast<const char*>(n->val.p), n->val.len);
  char serial[64];
  if (mbedtls_x509_serial_gets(serial, sizeof(serial), &cert->serial) > 0) id.serial_hex = serial;
  return id;
}

}  // namespace

// The server's own certificate and key with the TLS configuration that presents them.
// Replaced whole when the key is rotated; a connection holds the one it started with.
struct ServerCredential {
  mbedtls_x509_crt cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
  ServerCredential() {
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&conf);
  }
  ~ServerCredential() {
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
  }
  ServerCredential(const ServerCredential&) = delete;
  ServerCredential& operator=(const ServerCredential&) = delete;
};

struct TlsServer::State {
  TlsServerConfig config;
  FrameHandler handler;
  base::Drbg drbg{"sbc-mgmtd-tls"};  // first, so freed last; shared by every connection
  mbedtls_x509_crt ca;
  std::shared_ptr<const ServerCredential> credential;  // guarded by mutex
  mbedtls_net_context listener;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  std::mutex mutex;  // guards credential and stats
  TlsServerStats stats;
  std::unique_ptr<control::ConnectionThreads> connections;
  const control::SteadyClock* clock = &control::SystemSteadyClock();
  std::atomic<uint32_t> unauthenticated{0};  // connections in their handshake
  uint32_t max_unauthenticated = 1;

  State() {
    mbedtls_x509_crt_init(&ca);
    mbedtls_net_init(&listener);
  }
  ~State() {
    mbedtls_net_free(&listener);
    credential.reset();
    mbedtls_x509_crt_free(&ca);
  }

  void Count(uint64_t TlsServerStats::*field) {
    std::lock_guard lock(mutex);
    ++(stats.*field);
  }

  std::expected<std::shared_ptr<const ServerCredential>, std::string> LoadCredential(
      const std::string& cert_pem, const std::string& key_pem) {
    auto c = std::make_shared<ServerCredential>();
    int ret;
    if ((ret = mbedtls_x509_crt_parse(&c->cert, Pem(cert_pem), cert_pem.size() + 1)) != 0)
      return std::unexpected("TLS: server certificate: " + base::MbedtlsError(ret));
    if ((ret = mbedtls_pk_parse_key(&c->key, Pem(key_pem), key_pem.size() + 1, nullptr, 0)) != 0)
      return std::unexpected("TLS: server key: " + base::MbedtlsError(ret));
    if ((ret = mbedtls_pk_check_pair(&c->cert.pk, &c->key)) != 0)
      return std::unexpected("TLS: the server key does not belong to the server certificate");
    if ((ret = ApplyStrictSettings(&c->conf, MBEDTLS_SSL_IS_SERVER)) != 0)
      return std::unexpected("TLS: configuration: " + base::MbedtlsError(ret));
    mbedtls_ssl_conf_rng(&c->conf, base::Drbg::Draw, drbg.context());
    mbedtls_ssl_conf_ca_chain(&c->conf, &ca, nullptr);
    // No mbedtls_ssl_conf_read_timeout: reads go through DeadlineBio, whose deadlines
    // (the whole handshake, each frame) bound them; mbedTLS's own timer is not used.
    if ((ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key)) != 0)
      return std::unexpected("TLS: server certificate and key: " + base::MbedtlsError(ret));
    return c;
  }

  // The connection on `fd`, from its handshake on, which must be done by `handshake`
  // (set when it was accepted). Its thread was started counted as unauthenticated;
  // that ends with the handshake, either way.
  void Serve(int fd, const control::Deadline& handshake) {
    std::shared_ptr<const ServerCredential> own;  // outlives `ssl`, which points into it
    {
      std::lock_guard lock(mutex);
      own = credential;
    }
    // The socket is ConnectionThreads' to close. One deadline for the whole handshake.
    DeadlineBio bio{.fd = fd, .deadline = handshake, .stop = &stopping};
    mbedtls_ssl_context ssl;
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_set_bio(&ssl, &bio, DeadlineBio::Send, DeadlineBio::Recv, nullptr);
    int ret = mbedtls_ssl_setup(&ssl, &own->conf);
    while (ret == 0 && (ret = mbedtls_ssl_handshake(&ssl)) != 0) {
      if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) break;
      ret = 0;
    }
    unauthenticated.fetch_sub(1);
    // mbedTLS lets a certificate without extended key usage serve any purpose: ours
    // all say theirs, and only a client's may log in.
    const mbedtls_x509_crt* peer = ret == 0 ? mbedtls_ssl_get_peer_cert(&ssl) : nullptr;
    if (ret == 0 && (peer == nullptr || !pki::CertifiedFor(*peer, pki::Purpose::kClient)))
      ret = MBEDTLS_ERR_X509_BAD_INPUT_DATA;
    if (ret != 0) {
      Count(&TlsServerStats::handshake_failures);
      if (ret == MBEDTLS_ERR_SSL_TIMEOUT) Count(&TlsServerStats::handshake_timeouts);
    } else {
      const ClientIdentity identity = IdentityOf(mbedtls_ssl_get_peer_cert(&ssl));
      SslTransport transport(&ssl, &bio);
      // Idle from when each answer goes out (set before it does, so never later than
      // the peer can see).
      control::Deadline idle = control::Deadline::In(config.idle_timeout, *clock);
      while (!stopping.load()) {
        if (!WaitForFrame(fd, &ssl, idle)) {
          Count(&TlsServerStats::idle_closed);
          break;
        }
        auto request =
            control::ReadFrame(transport, config.read_timeout, config.max_frame_bytes, *clock);
        if (!request) {
          if (request.error() != control::FrameError::kClosed) Count(&TlsServerStats::bad_frames);
          break;
        }
        Count(&TlsServerStats::frames);
        const std::string reply = handler(identity, *request);
        idle = control::Deadline::In(config.idle_timeout, *clock);
        if (!control::WriteFrame(transport, reply, config.max_frame_bytes)) break;
      }
      mbedtls_ssl_close_notify(&ssl);
    }
    mbedtls_ssl_free(&ssl);
  }

  // Waits, idle, until the peer sends something or `idle` passes. mbedTLS is not
  // involved (a context must not be reused after its read times out).
  bool WaitForFrame(int fd, mbedtls_ssl_context* ssl, const control::Deadline& idle) {
    if (mbedtls_ssl_get_bytes_avail(ssl) > 0) return true;
    return control::WaitReadable(fd, idle, stopping);
  }

  void Accept() {
    while (!stopping.load()) {
      mbedtls_net_context client;
      mbedtls_net_init(&client);
      if (mbedtls_net_accept(&listener, &client, nullptr, 0, nullptr) != 0) {
        mbedtls_net_free(&client);
        if (stopping.load()) return;
        continue;
      }
      // Small frames and TLS flights: without this, Nagle and delayed ACKs stall each
      // exchange by tens of milliseconds.
      const int one = 1;
      setsockopt(client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      // Peers that have not shown a certificate yet get a share of the slots only.
      if (unauthenticated.fetch_add(1) >= max_unauthenticated) {
        unauthenticated.fetch_sub(1);
        close(client.fd);
        Count(&TlsServerStats::refused_unauthenticated);
        continue;
      }
      const control::Deadline handshake = control::Deadline::In(config.handshake_timeout, *clock);
      if (connections->Start(client.fd, [this, handshake](int fd) { Serve(fd, handshake); })) {
        Count(&TlsServerStats::accepted);
      } else {
        unauthenticated.fetch_sub(1);
        Count(&TlsServerStats::refused_over_limit);
      }
    }
  }
};

std::expected<std::unique_ptr<TlsServer>, std::string> TlsServer::Start(
    const TlsServerConfig& config, FrameHandler handler) {
  std::unique_ptr<TlsServer> server(new TlsServer());
  server->state_ = std::make_unique<State>();
  State& s = *server->state_;
  s.config = config;
  s.handler = std::move(handler);
  if (config.clock != nullptr) s.clock = config.clock;
  s.max_unauthenticated = config.max_unauthenticated != 0
                              ? config.max_unauthenticated
                              : std::max<uint32_t>(1, config.max_clients / 4);
  if (config.max_clients < 2 || s.max_unauthenticated >= config.max_clients)
    return std::unexpected("TLS: max_unauthenticated (" + std::to_string(s.max_unauthenticated) +
                           ") must be below max_clients (" + std::to_string(config.max_clients) +
                           ")");
  s.connections = std::make_unique<control::ConnectionThreads>(config.max_clients);
  int ret = s.drbg.seed_result();
  if (ret != 0)
    return std::unexpected("TLS: cannot seed the random generator: " + base::MbedtlsError(ret));
  if ((ret = mbedtls_x509_crt_parse(&s.ca, Pem(config.ca_pem), config.ca_pem.size() + 1)) != 0)
    return std::unexpected("TLS: management CA certificate: " + base::MbedtlsError(ret));
  auto credential = s.LoadCredential(config.cert_pem, config.key_pem);
  if (!credential) return std::unexpected(credential.error());
  s.credential = std::move(*credential);

  const std::string port = std::to_string(config.port);
  if ((ret = mbedtls_net_bind(&s.listener, config.listen_address.c_str(), port.c_str(),
                              MBEDTLS_NET_PROTO_TCP)) != 0)
    return std::unexpected("TLS: cannot listen on " + config.listen_address + ":" + port + ": " +
                           base::MbedtlsError(ret));
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(s.listener.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ =
      ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                       : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  s.acceptor = std::thread([&s] { s.Accept(); });
  return server;
}

std::expected<void, std::string> TlsServer::ReplaceCredential(const std::string& cert_pem,
                                                              const std::string& key_pem) {
  auto credential = state_->LoadCredential(cert_pem, key_pem);
  if (!credential) return std::unexpected(credential.error());
  std::lock_guard lock(state_->mutex);
  state_->credential = std::move(*credential);
  return {};
}

TlsServerStats TlsServer::stats() const {
  std::lock_guard lock(state_->mutex);
  return state_->stats;
}

void TlsServer::Stop() {
  if (!state_ || state_->stopping.exchange(true)) return;
  State& s = *state_;
  shutdown(s.listener.fd, SHUT_RDWR);  // wakes the blocked accept
  if (s.acceptor.joinable()) s.acceptor.join();
  s.connections->StopAll();
}

TlsServer::~TlsServer() { Stop(); }

}  // namespace sbc::mgmt::tls
