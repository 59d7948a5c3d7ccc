#include "sbc/mgmt/tls/tls_server.h"

#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/tls/ssl_transport.h"
#include "sbc/mgmt/tls/tls_config.h"

namespace sbc::mgmt::tls {
namespace {

using Clock = std::chrono::steady_clock;

std::string MbedError(int code) {
  char text[160];
  mbedtls_strerror(code, text, sizeof(text));
  return text;
}

// PEM parsers want the terminating NUL counted.
const unsigned char* Pem(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.c_str()); }


ClientIdentity IdentityOf(const mbedtls_x509_crt* cert) {
  ClientIdentity id;
  if (cert == nullptr) return id;
  for (const mbedtls_x509_name* n = &cert->subject; n != nullptr; n = n->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0)
      id.common_name.assign(reinterpret_cast<const char*>(n->val.p), n->val.len);
  char serial[64];
  if (mbedtls_x509_serial_gets(serial, sizeof(serial), &cert->serial) > 0) id.serial_hex = serial;
  return id;
}

}  // namespace

struct TlsServer::State {
  TlsServerConfig config;
  FrameHandler handler;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;  // thread-safe: mbedTLS is built with MBEDTLS_THREADING_C
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_ssl_config conf;
  mbedtls_net_context listener;
  std::thread acceptor;
  std::atomic<bool> stopping{false};

  struct Connection {
    mbedtls_net_context net;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mutex;  // guards connections and stats
  std::list<Connection> connections;
  TlsServerStats stats;

  State() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_config_init(&conf);
    mbedtls_net_init(&listener);
  }
  ~State() {
    mbedtls_net_free(&listener);
    mbedtls_ssl_config_free(&conf);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }

  void Count(uint64_t TlsServerStats::*field) {
    std::lock_guard lock(mutex);
    ++(stats.*field);
  }

  void Serve(Connection& c) {
    mbedtls_ssl_context ssl;
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_set_bio(&ssl, &c.net, mbedtls_net_send, nullptr, mbedtls_net_recv_timeout);
    int ret = mbedtls_ssl_setup(&ssl, &conf);
    while (ret == 0 && (ret = mbedtls_ssl_handshake(&ssl)) != 0) {
      if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE) break;
      ret = 0;
    }
    if (ret != 0) {
      Count(&TlsServerStats::handshake_failures);
    } else {
      const ClientIdentity identity = IdentityOf(mbedtls_ssl_get_peer_cert(&ssl));
      SslTransport transport(&ssl);
      while (!stopping.load()) {
        if (!WaitForFrame(c.net.fd, &ssl)) {
          Count(&TlsServerStats::idle_closed);
          break;
        }
        auto request = control::ReadFrame(transport, config.read_timeout, config.max_frame_bytes);
        if (!request) {
          if (request.error() != control::FrameError::kClosed) Count(&TlsServerStats::bad_frames);
          break;
        }
        Count(&TlsServerStats::frames);
        if (!control::WriteFrame(transport, handler(identity, *request), config.max_frame_bytes)) break;
      }
      mbedtls_ssl_close_notify(&ssl);
    }
    mbedtls_ssl_free(&ssl);
    mbedtls_net_free(&c.net);
    c.done = true;
  }

  // Waits, idle, until the peer sends something or idle_timeout passes. mbedTLS is not
  // involved (a context must not be reused after its read times out).
  bool WaitForFrame(int fd, mbedtls_ssl_context* ssl) {
    if (mbedtls_ssl_get_bytes_avail(ssl) > 0) return true;
    const auto deadline = Clock::now() + config.idle_timeout;
    while (!stopping.load()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd pfd{fd, POLLIN, 0};
      // Short slices so Stop() is noticed; a signal (EINTR) simply loops.
      if (poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 200))) > 0) return true;
    }
    return false;
  }

  // Joins the threads of finished connections; returns how many are still open.
  size_t Reap() {
    size_t open = 0;
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++open;
        ++it;
      }
    }
    return open;
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
      std::lock_guard lock(mutex);
      if (Reap() >= config.max_clients) {
        ++stats.refused_over_limit;
        mbedtls_net_free(&client);
        continue;
      }
      ++stats.accepted;
      // Small frames and TLS flights: without this, Nagle and delayed ACKs stall each
      // exchange by tens of milliseconds.
      const int one = 1;
      setsockopt(client.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Connection& c = connections.emplace_back();
      c.net = client;
      c.thread = std::thread([this, &c] { Serve(c); });
    }
  }
};

std::expected<std::unique_ptr<TlsServer>, std::string> TlsServer::Start(const TlsServerConfig& config,
                                                                       FrameHandler handler) {
  std::unique_ptr<TlsServer> server(new TlsServer());
  server->state_ = std::make_unique<State>();
  State& s = *server->state_;
  s.config = config;
  s.handler = std::move(handler);
  static constexpr unsigned char kPersonalisation[] = "sbc-mgmtd-tls";
  int ret = mbedtls_ctr_drbg_seed(&s.drbg, mbedtls_entropy_func, &s.entropy, kPersonalisation,
                                  sizeof(kPersonalisation) - 1);
  if (ret != 0) return std::unexpected("TLS: cannot seed the random generator: " + MbedError(ret));
  if ((ret = mbedtls_x509_crt_parse(&s.ca, Pem(config.ca_pem), config.ca_pem.size() + 1)) != 0)
    return std::unexpected("TLS: management CA certificate: " + MbedError(ret));
  if ((ret = mbedtls_x509_crt_parse(&s.cert, Pem(config.cert_pem), config.cert_pem.size() + 1)) != 0)
    return std::unexpected("TLS: server certificate: " + MbedError(ret));
  if ((ret = mbedtls_pk_parse_key(&s.key, Pem(config.key_pem), config.key_pem.size() + 1, nullptr, 0)) != 0)
    return std::unexpected("TLS: server key: " + MbedError(ret));
  if ((ret = ApplyStrictSettings(&s.conf, MBEDTLS_SSL_IS_SERVER)) != 0)
    return std::unexpected("TLS: configuration: " + MbedError(ret));
  mbedtls_ssl_conf_rng(&s.conf, mbedtls_ctr_drbg_random, &s.drbg);
  mbedtls_ssl_conf_ca_chain(&s.conf, &s.ca, nullptr);
  mbedtls_ssl_conf_read_timeout(&s.conf, static_cast<uint32_t>(config.read_timeout.count()));
  if ((ret = mbedtls_ssl_conf_own_cert(&s.conf, &s.cert, &s.key)) != 0)
    return std::unexpected("TLS: server certificate and key: " + MbedError(ret));

  const std::string port = std::to_string(config.port);
  if ((ret = mbedtls_net_bind(&s.listener, config.listen_address.c_str(), port.c_str(), MBEDTLS_NET_PROTO_TCP)) != 0)
    return std::unexpected("TLS: cannot listen on " + config.listen_address + ":" + port + ": " + MbedError(ret));
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(s.listener.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  server->port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                                   : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  s.acceptor = std::thread([&s] { s.Accept(); });
  return server;
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
  std::lock_guard lock(s.mutex);
  for (auto& c : s.connections) shutdown(c.net.fd, SHUT_RDWR);
  for (auto& c : s.connections) c.thread.join();
  s.connections.clear();
}

TlsServer::~TlsServer() { Stop(); }

}  // namespace sbc::mgmt::tls
