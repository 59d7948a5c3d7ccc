// The control API's TLS server against real mbedTLS clients on loopback: a client
// with a certificate from the management CA is served; every weaker or foreign client
// is refused at the handshake, and the server keeps serving good clients throughout.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <thread>
#include <vector>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/tls/tls_config.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "support/test_pki.h"

namespace sbc::mgmt::tls {
namespace {

using testing::Credential;
using testing::TestPki;

struct ClientOptions {
  std::optional<Credential> credential;
  int min_minor = MBEDTLS_SSL_MINOR_VERSION_3;
  int max_minor = MBEDTLS_SSL_MINOR_VERSION_3;
  std::vector<int> suites;  // empty: the strict server list
};

struct ClientResult {
  bool handshake_ok = false;
  std::string reply;  // the server's answer to one frame
};

// One connection: handshake, one frame ("ping"), read the answer.
ClientResult Connect(uint16_t port, const std::string& ca_pem, const ClientOptions& o,
                     const std::string& request = "ping") {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_ssl_config conf;
  mbedtls_ssl_context ssl;
  mbedtls_x509_crt ca, cert;
  mbedtls_pk_context key;
  mbedtls_net_context net;
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  mbedtls_ssl_config_init(&conf);
  mbedtls_ssl_init(&ssl);
  mbedtls_x509_crt_init(&ca);
  mbedtls_x509_crt_init(&cert);
  mbedtls_pk_init(&key);
  mbedtls_net_init(&net);
  ClientResult result;
  mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0);
  mbedtls_x509_crt_parse(&ca, reinterpret_cast<const unsigned char*>(ca_pem.c_str()), ca_pem.size() + 1);
  mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  mbedtls_ssl_conf_min_version(&conf, 3, o.min_minor);
  mbedtls_ssl_conf_max_version(&conf, 3, o.max_minor);
  std::vector<int> suites = o.suites;
  if (!suites.empty()) {
    suites.push_back(0);
    mbedtls_ssl_conf_ciphersuites(&conf, suites.data());
  }
  mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_ca_chain(&conf, &ca, nullptr);
  mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
  mbedtls_ssl_conf_read_timeout(&conf, 5000);
  if (o.credential) {
    mbedtls_x509_crt_parse(&cert, reinterpret_cast<const unsigned char*>(o.credential->cert_pem.c_str()),
                           o.credential->cert_pem.size() + 1);
    mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(o.credential->key_pem.c_str()),
                         o.credential->key_pem.size() + 1, nullptr, 0);
    mbedtls_ssl_conf_own_cert(&conf, &cert, &key);
  }
  mbedtls_ssl_setup(&ssl, &conf);
  mbedtls_ssl_set_hostname(&ssl, "sbc-appliance");
  if (mbedtls_net_connect(&net, "127.0.0.1", std::to_string(port).c_str(), MBEDTLS_NET_PROTO_TCP) == 0) {
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, nullptr, mbedtls_net_recv_timeout);
    int ret;
    while ((ret = mbedtls_ssl_handshake(&ssl)) == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) {
    }
    result.handshake_ok = ret == 0;
    if (result.handshake_ok) {
      // After a TLS 1.2 handshake the server may still refuse the client certificate
      // in its last flight; a reply proves it accepted us.
      const uint32_t n = static_cast<uint32_t>(request.size());
      std::string frame = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
      frame += request;
      mbedtls_ssl_write(&ssl, reinterpret_cast<const unsigned char*>(frame.data()), frame.size());
      unsigned char buf[4096];
      const int got = mbedtls_ssl_read(&ssl, buf, sizeof(buf));
      if (got > 4) result.reply.assign(reinterpret_cast<char*>(buf) + 4, size_t(got) - 4);
      else result.handshake_ok = false;
    }
  }
  mbedtls_ssl_close_notify(&ssl);
  mbedtls_net_free(&net);
  mbedtls_pk_free(&key);
  mbedtls_x509_crt_free(&cert);
  mbedtls_x509_crt_free(&ca);
  mbedtls_ssl_free(&ssl);
  mbedtls_ssl_config_free(&conf);
  mbedtls_ctr_drbg_free(&drbg);
  mbedtls_entropy_free(&entropy);
  return result;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const Credential server = pki_.Issue("sbc-appliance");
    TlsServerConfig config{.port = 0,
                           .ca_pem = pki_.ca_pem(),
                           .cert_pem = server.cert_pem,
                           .key_pem = server.key_pem,
                           .max_clients = 4,
                           .read_timeout = std::chrono::milliseconds(1000),
                           .max_frame_bytes = 1024};
    auto s = TlsServer::Start(config, [](const ClientIdentity& who, const std::string& request) {
      return "hello " + who.common_name + ": " + request;
    });
    ASSERT_TRUE(s.has_value()) << s.error();
    server_ = std::move(*s);
    good_ = pki_.Issue("operator-1");
  }

  // A client the server must serve, after whatever a test did before.
  void ExpectStillServing() {
    const ClientResult r = Connect(server_->port(), pki_.ca_pem(), {.credential = good_});
    EXPECT_TRUE(r.handshake_ok);
    EXPECT_EQ(r.reply, "hello operator-1: ping");
  }
  void ExpectRefused(const ClientOptions& options) {
    const uint64_t failures = server_->stats().handshake_failures;
    const ClientResult r = Connect(server_->port(), pki_.ca_pem(), options);
    EXPECT_FALSE(r.handshake_ok);
    EXPECT_TRUE(r.reply.empty());
    // The server side saw the failed handshake (its thread may finish a moment later).
    for (int i = 0; i < 200 && server_->stats().handshake_failures == failures; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_GT(server_->stats().handshake_failures, failures);
    ExpectStillServing();
  }

  TestPki pki_;
  std::unique_ptr<TlsServer> server_;
  Credential good_;
};

TEST_F(TlsServerTest, AClientWithACertificateFromTheManagementCaIsServed) {
  ExpectStillServing();
  const auto stats = server_->stats();
  EXPECT_EQ(stats.frames, 1u);
  EXPECT_EQ(stats.handshake_failures, 0u);
}

TEST_F(TlsServerTest, NoClientCertificateIsRefused) { ExpectRefused({}); }

TEST_F(TlsServerTest, ACertificateFromAnotherCaIsRefused) {
  TestPki other("Some Other CA");
  ExpectRefused({.credential = other.Issue("operator-1")});
}

TEST_F(TlsServerTest, AnExpiredCertificateIsRefused) {
  ExpectRefused({.credential = pki_.Issue("operator-1", "20200101000000", "20210101000000")});
}

TEST_F(TlsServerTest, ACertificateNotYetValidIsRefused) {
  ExpectRefused({.credential = pki_.Issue("operator-1", "20480101000000", "20490101000000")});
}

TEST_F(TlsServerTest, Tls10And11AreRefused) {
  for (int minor : {MBEDTLS_SSL_MINOR_VERSION_1, MBEDTLS_SSL_MINOR_VERSION_2}) {
    SCOPED_TRACE(minor == 1 ? "TLS 1.0" : "TLS 1.1");
    ExpectRefused({.credential = good_, .min_minor = minor, .max_minor = minor,
                   .suites = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}});
  }
}

TEST_F(TlsServerTest, CbcSuitesAreRefused) {
  ExpectRefused({.credential = good_, .suites = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                                                 MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384}});
}

TEST_F(TlsServerTest, NonEphemeralKeyExchangeIsRefused) {
  ExpectRefused({.credential = good_, .suites = {MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256,
                                                 MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384}});
}

TEST_F(TlsServerTest, PlaintextBytesOnThePortAreRefused) {
  const uint64_t failures = server_->stats().handshake_failures;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const char request[] = "\x00\x00\x00\x04ping GET / HTTP/1.0\r\n\r\n";
  ASSERT_GT(write(fd, request, sizeof(request) - 1), 0);
  char buf[256];
  ssize_t n;
  std::string answer;
  while ((n = read(fd, buf, sizeof(buf))) > 0) answer.append(buf, size_t(n));
  close(fd);
  EXPECT_EQ(answer.find("hello"), std::string::npos) << "plaintext was served";
  for (int i = 0; i < 200 && server_->stats().handshake_failures == failures; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_GT(server_->stats().handshake_failures, failures);
  ExpectStillServing();
}

TEST_F(TlsServerTest, AnOversizedFrameClosesThatConnectionOnly) {
  const ClientResult r = Connect(server_->port(), pki_.ca_pem(), {.credential = good_}, std::string(5000, 'x'));
  EXPECT_TRUE(r.reply.empty());
  for (int i = 0; i < 200 && server_->stats().bad_frames == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(server_->stats().bad_frames, 1u);
  ExpectStillServing();
}

TEST_F(TlsServerTest, ConnectionsBeyondTheLimitAreRefused) {
  // Four idle TCP connections hold every slot; the fifth is closed at once.
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    idle.push_back(fd);
  }
  for (int i = 0; i < 200 && server_->stats().accepted < 4; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const ClientResult r = Connect(server_->port(), pki_.ca_pem(), {.credential = good_});
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_GE(server_->stats().refused_over_limit, 1u);
  for (int fd : idle) close(fd);
  // The idle connections time out their handshake (1 s) and free their slots.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  ExpectStillServing();
}

TEST(TlsServerStartTest, BadCredentialsAreNamed) {
  TestPki pki;
  const Credential server = pki.Issue("sbc-appliance");
  auto s = TlsServer::Start({.port = 0, .ca_pem = "garbage", .cert_pem = server.cert_pem, .key_pem = server.key_pem},
                            [](const ClientIdentity&, const std::string&) { return std::string(); });
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error(), ::testing::HasSubstr("management CA certificate"));
}

}  // namespace
}  // namespace sbc::mgmt::tls
