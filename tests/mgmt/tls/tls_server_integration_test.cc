// The control API's TLS server against real mbedTLS clients on loopback: a client
// with a certificate from the management CA is served; every weaker or foreign client
// is refused at the handshake, and the server keeps serving good clients throughout.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/tls/tls_client.h"
#include "sbc/mgmt/tls/tls_config.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "support/manual_steady_clock.h"
#include "support/test_pki.h"
#include "support/tls_client.h"
#include "support/wait.h"

namespace sbc::mgmt::tls {
namespace {

using testing::Credential;
using testing::TestPki;

using ClientOptions = testing::TlsClientOptions;

struct ClientResult {
  bool handshake_ok = false;
  std::string reply;  // the server's answer to one frame
};

// One connection, one frame. After a TLS 1.2 handshake the server may still refuse
// the client certificate in its last flight, so only a reply proves it accepted us.
ClientResult Connect(uint16_t port, const std::string& ca_pem, const ClientOptions& o,
                     const std::string& request = "ping") {
  testing::TlsTestClient client(port, ca_pem, o);
  const auto reply = client.Call(request);
  return {.handshake_ok = client.handshake_ok() && reply.has_value(), .reply = reply.value_or("")};
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
                           .max_unauthenticated = 2,
                           .handshake_timeout = std::chrono::milliseconds(10'000),
                           .read_timeout = std::chrono::milliseconds(1000),
                           .max_frame_bytes = 1024,
                           .clock = &clock_};
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
    EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().handshake_failures > failures; }));
    ExpectStillServing();
  }
  // A TCP connection that says nothing: a peer stuck (or stalling) in its handshake.
  int Silent() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server_->port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return fd;
  }

  testing::ManualSteadyClock clock_;  // the server's deadlines run on it
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
    ExpectRefused({.credential = good_,
                   .min_minor = minor,
                   .max_minor = minor,
                   .suites = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}});
  }
}

TEST_F(TlsServerTest, CbcSuitesAreRefused) {
  ExpectRefused({.credential = good_,
                 .suites = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
                            MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384}});
}

TEST_F(TlsServerTest, NonEphemeralKeyExchangeIsRefused) {
  ExpectRefused({.credential = good_,
                 .suites = {MBEDTLS_TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256,
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
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().handshake_failures > failures; }));
  ExpectStillServing();
}

TEST_F(TlsServerTest, AnOversizedFrameClosesThatConnectionOnly) {
  const ClientResult r =
      Connect(server_->port(), pki_.ca_pem(), {.credential = good_}, std::string(5000, 'x'));
  EXPECT_TRUE(r.reply.empty());
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().bad_frames == 1; }));
  ExpectStillServing();
}

// Every slot taken by sessions: the next connection is closed at once.
TEST_F(TlsServerTest, ConnectionsBeyondTheLimitAreRefused) {
  std::vector<std::unique_ptr<testing::TlsTestClient>> sessions;
  for (int i = 0; i < 4; ++i) {
    sessions.push_back(std::make_unique<testing::TlsTestClient>(
        server_->port(), pki_.ca_pem(), ClientOptions{.credential = good_}));
    ASSERT_TRUE(sessions.back()->Call("hold").has_value()) << i;
  }
  const ClientResult r = Connect(server_->port(), pki_.ca_pem(), {.credential = good_});
  EXPECT_FALSE(r.handshake_ok);
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().refused_over_limit >= 1; }));
  sessions.pop_back();  // one leaves: its slot is free once its thread is done
  EXPECT_TRUE(testing::WaitUntil(
      [&] { return Connect(server_->port(), pki_.ca_pem(), {.credential = good_}).handshake_ok; }));
}

// Peers that never finish a handshake hold at most max_unauthenticated (2 of 4) slots,
// and each only until handshake_timeout: the sessions of operators with a certificate
// keep theirs, and new ones get in once the stallers' time is up.
TEST_F(TlsServerTest, PeersStuckInTheirHandshakeCannotHoldEverySlot) {
  testing::TlsTestClient operator_session(server_->port(), pki_.ca_pem(), {.credential = good_});
  ASSERT_TRUE(operator_session.Call("one").has_value());
  std::vector<int> stalled;
  for (int i = 0; i < 2; ++i) stalled.push_back(Silent());
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().accepted == 3; }));
  const int third = Silent();
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().refused_unauthenticated == 1; }))
      << "a third peer in its handshake";
  close(third);
  EXPECT_EQ(operator_session.Call("two"), "hello operator-1: two") << "the session keeps its slot";

  clock_.Advance(std::chrono::milliseconds(10'001));
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().handshake_timeouts == 2; }));
  ExpectStillServing();
  for (int fd : stalled) close(fd);
}

// A peer that drips its ClientHello a byte at a time, each well within any per-read
// timeout, still has one deadline for the whole handshake.
TEST_F(TlsServerTest, ADrippedHandshakeEndsAtItsDeadline) {
  const int fd = Silent();
  ASSERT_TRUE(
      testing::WaitUntil([&] { return server_->stats().accepted == 1; }));  // its deadline is set
  const char hello_start[] =
      "\x16\x03\x01\x02\x00\x01";  // a TLS record header, then the start of a ClientHello
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(write(fd, hello_start + i, 1), 1);
    clock_.Advance(std::chrono::milliseconds(900));  // under the 1 s read timeout each time
  }
  clock_.Advance(std::chrono::milliseconds(10'000 - 6 * 900 + 1));
  EXPECT_TRUE(testing::WaitUntil([&] { return server_->stats().handshake_timeouts == 1; }));
  char byte;
  EXPECT_EQ(read(fd, &byte, 1), 0) << "the server closed it";
  close(fd);
  ExpectStillServing();
}

TEST(TlsServerIdleTest, AnIdleSessionIsClosedAndAnActiveOneIsNot) {
  TestPki pki;
  testing::ManualSteadyClock clock;
  const Credential server = pki.Issue("sbc-appliance");
  auto s = TlsServer::Start({.port = 0,
                             .ca_pem = pki.ca_pem(),
                             .cert_pem = server.cert_pem,
                             .key_pem = server.key_pem,
                             .idle_timeout = std::chrono::milliseconds(400),
                             .clock = &clock},
                            [](const ClientIdentity&, const std::string& r) { return r; });
  ASSERT_TRUE(s.has_value()) << s.error();
  const ClientOptions options{.credential = pki.Issue("operator-1")};
  {
    testing::TlsTestClient active((*s)->port(), pki.ca_pem(), options);
    for (int i = 0; i < 8; ++i) {  // a frame every 150 ms: never idle for 400 ms
      EXPECT_EQ(active.Call("still here"), "still here") << "call " << i;
      clock.Advance(std::chrono::milliseconds(150));
    }
  }  // closes cleanly, not by the idle timer
  testing::TlsTestClient idle((*s)->port(), pki.ca_pem(), options);
  EXPECT_EQ(idle.Call("hello"), "hello");
  clock.Advance(std::chrono::milliseconds(401));
  EXPECT_TRUE(testing::WaitUntil([&] { return (*s)->stats().idle_closed == 1; }));
  EXPECT_FALSE(idle.Call("too late").has_value()) << "the idle session was kept open";
  EXPECT_EQ((*s)->stats().idle_closed, 1u);
}

// The DER of a PEM certificate, as a client sees it on the wire.
std::string Der(const std::string& pem) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  std::string der;
  if (mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(pem.c_str()),
                             pem.size() + 1) == 0)
    der.assign(reinterpret_cast<const char*>(crt.raw.p), crt.raw.len);
  mbedtls_x509_crt_free(&crt);
  return der;
}

TEST_F(TlsServerTest, ARotatedCredentialIsPresentedFromTheNextHandshakeOn) {
  testing::TlsTestClient before(server_->port(), pki_.ca_pem(), {.credential = good_});
  ASSERT_TRUE(before.Call("one").has_value());
  const std::string old_der = before.peer_certificate_der();

  const Credential next = pki_.Issue("sbc-appliance");
  ASSERT_TRUE(server_->ReplaceCredential(next.cert_pem, next.key_pem).has_value());
  testing::TlsTestClient after(server_->port(), pki_.ca_pem(), {.credential = good_});
  ASSERT_TRUE(after.Call("two").has_value());
  EXPECT_EQ(after.peer_certificate_der(), Der(next.cert_pem));
  EXPECT_NE(after.peer_certificate_der(), old_der);
  // The connection opened before the rotation goes on with its session.
  EXPECT_EQ(before.Call("three"), "hello operator-1: three");

  // A key that does not belong to the certificate is refused, and the current pair stays.
  const Credential other = pki_.Issue("sbc-appliance");
  const auto refused = server_->ReplaceCredential(next.cert_pem, other.key_pem);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error(), ::testing::HasSubstr("does not belong"));
  testing::TlsTestClient still(server_->port(), pki_.ca_pem(), {.credential = good_});
  ASSERT_TRUE(still.Call("four").has_value());
  EXPECT_EQ(still.peer_certificate_der(), Der(next.cert_pem));
}

// Each certificate is for one end: an operator's cannot serve the appliance, the
// appliance's (or any server's) cannot log in.
TEST_F(TlsServerTest, AServerCertificateCannotLogIn) {
  auto server_purpose = pki_.ca().Issue("operator-1", pki::Purpose::kServer);
  ASSERT_TRUE(server_purpose.has_value());
  ExpectRefused({.credential = *server_purpose});
}

TEST(TlsClientTest, AClientCertificateCannotServeTheAppliance) {
  TestPki pki;
  const Credential operator_cert = pki.Issue("operator-1");
  auto wrong = pki.ca().Issue(kServerName, pki::Purpose::kClient);
  ASSERT_TRUE(wrong.has_value());
  auto s = TlsServer::Start(
      {.port = 0, .ca_pem = pki.ca_pem(), .cert_pem = wrong->cert_pem, .key_pem = wrong->key_pem},
      [](const ClientIdentity&, const std::string& r) { return r; });
  ASSERT_TRUE(s.has_value()) << s.error();
  auto client = TlsClient::Connect("127.0.0.1", (*s)->port(), pki.ca_pem(), operator_cert.cert_pem,
                                   operator_cert.key_pem);
  EXPECT_FALSE(client.has_value()) << "mbedTLS on the server side will not even present it";
}

// After a key rotation a client that has met the new server certificate refuses the
// old one: whoever holds the old key cannot pose as the appliance to it.
TEST(TlsClientTest, AServerCertificateOlderThanOneSeenIsRefused) {
  TestPki pki;
  const Credential operator_cert = pki.Issue("operator-1");
  const Credential old_server = pki.Issue(kServerName);
  const Credential new_server = pki.Issue(kServerName);  // issued later: a higher serial
  const std::string ratchet = ::testing::TempDir() + "sbc-serial-" + std::to_string(getpid());
  std::remove(ratchet.c_str());
  auto connect = [&](const Credential& server) {
    auto s = TlsServer::Start(
        {.port = 0, .ca_pem = pki.ca_pem(), .cert_pem = server.cert_pem, .key_pem = server.key_pem},
        [](const ClientIdentity&, const std::string& r) { return r; });
    EXPECT_TRUE(s.has_value());
    return TlsClient::Connect("127.0.0.1", (*s)->port(), pki.ca_pem(), operator_cert.cert_pem,
                              operator_cert.key_pem, ratchet);
  };
  EXPECT_TRUE(connect(old_server).has_value()) << "first seen";
  EXPECT_TRUE(connect(new_server).has_value()) << "rotated";
  auto stale = connect(old_server);
  ASSERT_FALSE(stale.has_value()) << "the old key after the rotation";
  EXPECT_THAT(stale.error().message, ::testing::HasSubstr("older than one it presented before"));
  EXPECT_TRUE(connect(new_server).has_value());
  std::remove(ratchet.c_str());
}

TEST(TlsServerStartTest, BadCredentialsAreNamed) {
  TestPki pki;
  const Credential server = pki.Issue("sbc-appliance");
  auto s = TlsServer::Start(
      {.port = 0, .ca_pem = "garbage", .cert_pem = server.cert_pem, .key_pem = server.key_pem},
      [](const ClientIdentity&, const std::string&) { return std::string(); });
  ASSERT_FALSE(s.has_value());
  EXPECT_THAT(s.error(), ::testing::HasSubstr("management CA certificate"));
}

}  // namespace
}  // namespace sbc::mgmt::tls
