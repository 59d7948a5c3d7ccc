#include "sbc/mgmt/tls/tls_client.h"

#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "sbc/mgmt/base/drbg.h"
#include "sbc/mgmt/base/mbedtls_error.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/tls/ssl_transport.h"
#include "sbc/mgmt/tls/tls_config.h"

namespace sbc::mgmt::tls {
namespace {

// A certificate serial as hex without leading zeros: longer is larger, and strings of
// one length compare as the numbers do.
std::string SerialHex(const mbedtls_x509_buf& serial) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < serial.len; ++i) {
    hex += kHex[serial.p[i] >> 4];
    hex += kHex[serial.p[i] & 15];
  }
  const size_t first = hex.find_first_not_of('0');
  return first == std::string::npos ? "0" : hex.substr(first);
}

bool Older(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// The serial ratchet (see Connect): refuses `seen` below what `file` holds, else keeps
// `seen` there if it is higher.
std::expected<void, std::string> Ratchet(const std::string& file, const std::string& seen) {
  std::string highest;
  if (std::ifstream in(file); in) in >> highest;
  if (!highest.empty() && Older(seen, highest))
    return std::unexpected("the appliance presented a server certificate (serial " + seen +
                           ") older than one it presented before (serial " + highest +
                           "): an old key after a rotation, or not the appliance");
  if (highest != seen) {
    const std::string temp = file + ".tmp";
    std::ofstream(temp, std::ios::trunc) << seen << "\n";
    std::rename(temp.c_str(), file.c_str());
  }
  return {};
}

}  // namespace

struct TlsClient::Impl {
  base::Drbg drbg{"sbc-control-client"};  // first, so freed last
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_net_context net;
  Impl() {
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
  }
};

TlsClient::TlsClient() : impl_(std::make_unique<Impl>()) {}
TlsClient::~TlsClient() = default;

std::expected<std::unique_ptr<TlsClient>, ClientFailure> TlsClient::Connect(
    const std::string& host, uint16_t port, const std::string& ca_pem, const std::string& cert_pem,
    const std::string& key_pem, const std::string& server_serial_file) {
  std::unique_ptr<TlsClient> client(new TlsClient());
  Impl& i = *client->impl_;
  auto fail = [](ClientError kind, std::string message) {
    return std::unexpected(ClientFailure{kind, std::move(message)});
  };
  int ret = i.drbg.seed_result();
  if (ret == 0) ret = ApplyStrictSettings(&i.conf, MBEDTLS_SSL_IS_CLIENT);
  if (ret != 0) return fail(ClientError::kHandshake, "TLS setup: " + base::MbedtlsError(ret));
  if ((ret = mbedtls_x509_crt_parse(&i.ca, reinterpret_cast<const unsigned char*>(ca_pem.c_str()),
                                    ca_pem.size() + 1)) != 0)
    return fail(ClientError::kHandshake, "management CA certificate: " + base::MbedtlsError(ret));
  if ((ret =
           mbedtls_x509_crt_parse(&i.cert, reinterpret_cast<const unsigned char*>(cert_pem.c_str()),
                                  cert_pem.size() + 1)) != 0)
    return fail(ClientError::kHandshake, "your certificate: " + base::MbedtlsError(ret));
  if ((ret = mbedtls_pk_parse_key(&i.key, reinterpret_cast<const unsigned char*>(key_pem.c_str()),
                                  key_pem.size() + 1, nullptr, 0)) != 0)
    return fail(ClientError::kHandshake, "your key: " + base::MbedtlsError(ret));
  mbedtls_ssl_conf_rng(&i.conf, base::Drbg::Draw, i.drbg.context());
  mbedtls_ssl_conf_ca_chain(&i.conf, &i.ca, nullptr);
  mbedtls_ssl_conf_read_timeout(&i.conf, 30'000);
  mbedtls_ssl_conf_own_cert(&i.conf, &i.cert, &i.key);
  if ((ret = mbedtls_ssl_setup(&i.ssl, &i.conf)) != 0 ||
      (ret = mbedtls_ssl_set_hostname(&i.ssl, kServerName)) != 0)
    return fail(ClientError::kHandshake, "TLS setup: " + base::MbedtlsError(ret));
  const std::string port_text = std::to_string(port);
  if ((ret = mbedtls_net_connect(&i.net, host.c_str(), port_text.c_str(), MBEDTLS_NET_PROTO_TCP)) !=
      0)
    return fail(ClientError::kUnreachable,
                "cannot reach " + host + ":" + port_text + ": " + base::MbedtlsError(ret));
  const int one = 1;  // small frames: no Nagle delays
  setsockopt(i.net.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  mbedtls_ssl_set_bio(&i.ssl, &i.net, mbedtls_net_send, nullptr, mbedtls_net_recv_timeout);
  while ((ret = mbedtls_ssl_handshake(&i.ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
         ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
  }
  if (ret != 0) {
    std::string why = base::MbedtlsError(ret);
    if (const uint32_t flags = mbedtls_ssl_get_verify_result(&i.ssl);
        flags != 0 && flags != uint32_t(-1)) {
      char info[512];
      mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
      std::string text(info);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      for (char& c : text)
        if (c == '\n') c = ';';
      why += " (the appliance's certificate: " + text + ")";
    }
    return fail(ClientError::kHandshake,
                "TLS handshake with " + host + ":" + port_text + " failed: " + why);
  }
  const mbedtls_x509_crt* server = mbedtls_ssl_get_peer_cert(&i.ssl);
  if (server == nullptr || !pki::CertifiedFor(*server, pki::Purpose::kServer))
    return fail(ClientError::kHandshake,
                host + ":" + port_text + " presented a certificate not made for a TLS server");
  if (!server_serial_file.empty())
    if (auto ok = Ratchet(server_serial_file, SerialHex(server->serial)); !ok)
      return fail(ClientError::kHandshake, ok.error());
  return client;
}

std::expected<std::string, ClientFailure> TlsClient::Call(const std::string& request) {
  SslTransport transport(&impl_->ssl);
  if (!control::WriteFrame(transport, request))
    return std::unexpected(
        ClientFailure{ClientError::kConnection, "connection lost while sending"});
  auto reply = control::ReadFrame(transport, std::chrono::seconds(60));
  if (!reply)
    return std::unexpected(
        ClientFailure{ClientError::kConnection,
                      std::string("no answer: ") + control::FrameErrorText(reply.error())});
  return *reply;
}

}  // namespace sbc::mgmt::tls
