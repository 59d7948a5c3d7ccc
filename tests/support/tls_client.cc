#include "support/tls_client.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace sbc::testing {

struct TlsTestClient::Impl {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_net_context net;
  std::vector<int> suites;
  Impl() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_net_init(&net);
  }
  ~Impl() {
    mbedtls_ssl_close_notify(&ssl);
    mbedtls_net_free(&net);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&cert);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
  bool ReadExactly(unsigned char* out, size_t size) {
    size_t done = 0;
    while (done < size) {
      const int n = mbedtls_ssl_read(&ssl, out + done, size - done);
      if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
};

TlsTestClient::TlsTestClient(uint16_t port, const std::string& ca_pem, const TlsClientOptions& o)
    : impl_(std::make_unique<Impl>()) {
  Impl& i = *impl_;
  mbedtls_ctr_drbg_seed(&i.drbg, mbedtls_entropy_func, &i.entropy, nullptr, 0);
  mbedtls_x509_crt_parse(&i.ca, reinterpret_cast<const unsigned char*>(ca_pem.c_str()),
                         ca_pem.size() + 1);
  mbedtls_ssl_config_defaults(&i.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                              MBEDTLS_SSL_PRESET_DEFAULT);
  mbedtls_ssl_conf_min_version(&i.conf, 3, o.min_minor);
  mbedtls_ssl_conf_max_version(&i.conf, 3, o.max_minor);
  if (!o.suites.empty()) {
    i.suites = o.suites;
    i.suites.push_back(0);
    mbedtls_ssl_conf_ciphersuites(&i.conf, i.suites.data());
  }
  mbedtls_ssl_conf_authmode(&i.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&i.conf, &i.ca, nullptr);
  mbedtls_ssl_conf_rng(&i.conf, mbedtls_ctr_drbg_random, &i.drbg);
  mbedtls_ssl_conf_read_timeout(&i.conf, 300'000);  // a loaded machine is slow, not stuck
  if (o.credential) {
    mbedtls_x509_crt_parse(&i.cert,
                           reinterpret_cast<const unsigned char*>(o.credential->cert_pem.c_str()),
                           o.credential->cert_pem.size() + 1);
    mbedtls_pk_parse_key(&i.key,
                         reinterpret_cast<const unsigned char*>(o.credential->key_pem.c_str()),
                         o.credential->key_pem.size() + 1, nullptr, 0);
    mbedtls_ssl_conf_own_cert(&i.conf, &i.cert, &i.key);
  }
  mbedtls_ssl_setup(&i.ssl, &i.conf);
  mbedtls_ssl_set_hostname(&i.ssl, "sbc-appliance");
  if (mbedtls_net_connect(&i.net, "127.0.0.1", std::to_string(port).c_str(),
                          MBEDTLS_NET_PROTO_TCP) != 0)
    return;
  const int one = 1;  // small frames: no Nagle delays
  setsockopt(i.net.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  mbedtls_ssl_set_bio(&i.ssl, &i.net, mbedtls_net_send, nullptr, mbedtls_net_recv_timeout);
  int ret;
  while ((ret = mbedtls_ssl_handshake(&i.ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
         ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
  }
  handshake_ok_ = ret == 0;
  if (const mbedtls_x509_crt* peer = mbedtls_ssl_get_peer_cert(&i.ssl); peer != nullptr)
    peer_der_.assign(reinterpret_cast<const char*>(peer->raw.p), peer->raw.len);
}

TlsTestClient::~TlsTestClient() = default;

std::optional<std::string> TlsTestClient::Call(const std::string& request) {
  if (!handshake_ok_) return std::nullopt;
  const auto n = static_cast<uint32_t>(request.size());
  std::string frame = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  frame += request;
  size_t done = 0;
  while (done < frame.size()) {
    const int w =
        mbedtls_ssl_write(&impl_->ssl, reinterpret_cast<const unsigned char*>(frame.data()) + done,
                          frame.size() - done);
    if (w == MBEDTLS_ERR_SSL_WANT_READ || w == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
    if (w <= 0) return std::nullopt;
    done += static_cast<size_t>(w);
  }
  unsigned char header[4];
  if (!impl_->ReadExactly(header, 4)) return std::nullopt;
  const uint32_t length =
      uint32_t(header[0]) << 24 | uint32_t(header[1]) << 16 | uint32_t(header[2]) << 8 | header[3];
  std::string reply(length, '\0');
  if (length != 0 && !impl_->ReadExactly(reinterpret_cast<unsigned char*>(reply.data()), length))
    return std::nullopt;
  return reply;
}

}  // namespace sbc::testing
