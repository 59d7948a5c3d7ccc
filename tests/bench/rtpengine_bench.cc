// rtpengine's userspace relay rate on the traffic media_relay_bench gives ours: SRTP in
// (AES_CM_128_HMAC_SHA1_80, 172-byte RTP with a 160-byte payload), plain RTP out (or,
// with --path rtp-to-srtp, the other way, as tools/traffic-bench drives ours),
// many concurrent sessions, one rtpengine worker thread. Needs root-free loopback only,
// and rtpengine (tools/setup installs Debian's rtpengine-daemon).
//
// Each session is set up as an SBC would (ng offer with a plain caller, answer with an
// SRTP callee whose SDES key we hold); packets are encrypted with libsrtp2 beforehand
// (rtpengine refuses replays, so every packet is new). Per measurement one thread sends
// a batch of them round-robin over the sessions as fast as it can, far faster than
// rtpengine relays (the kernel drops what its socket cannot queue), and another counts
// what rtpengine relays: the rate is that count over the time from the first packet
// sent to the last one relayed, and cycles/packet is one core's cycles over it
// (rtpengine's one thread busy throughout).
//
//   cmake --preset release && cmake --build --preset release --target rtpengine_bench
//   build/release/tests/bench/rtpengine_bench --sessions 10000 --repeats 3
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <srtp2/srtp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "support/rtpengine_ng.h"

namespace {

using sbc::testing::Base64;
using sbc::testing::Bencode;

pid_t g_rtpengine = 0;  // stopped on every way out

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "rtpengine_bench: %s\n", what.c_str());
  if (g_rtpengine > 0) kill(g_rtpengine, SIGTERM);
  std::exit(1);
}

int UdpSocket(uint16_t port = 0) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) Die("bind");
  const int big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  return fd;
}
uint16_t PortOf(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}
void SendTo(int fd, uint16_t port, const std::string& bytes) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
}
// One ng command; the reply's SDP.
std::string Ng(int fd, uint16_t ng_port, int cookie, const std::string& body) {
  SendTo(fd, ng_port, sbc::testing::NgMessage(cookie, body));
  char buf[65536];
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const ssize_t n = recv(fd, buf, sizeof(buf), 0);
  if (n <= 0) Die("rtpengine did not answer an ng command");
  const std::string reply(buf, size_t(n));
  const std::string sdp = sbc::testing::NgReplySdp(reply);
  if (sdp.empty()) Die("ng: " + reply);
  return sdp;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rtpengine's userspace SRTP->RTP relay rate, one worker thread"};
  uint32_t sessions = 10000, repeats = 3, packets_per_session = 30;
  std::string rtpengine = "/usr/bin/rtpengine", path = "srtp-to-rtp";
  app.add_option(
         "--path", path,
         "srtp-to-rtp (we send SRTP, it decrypts) or rtp-to-srtp (we send RTP, it encrypts)")
      ->check(CLI::IsMember({"srtp-to-rtp", "rtp-to-srtp"}));
  app.add_option("--sessions", sessions);
  app.add_option("--repeats", repeats, "measurements; the median is reported");
  app.add_option("--packets-per-session", packets_per_session,
                 "distinct SRTP packets prepared per session");
  app.add_option("--rtpengine", rtpengine);
  CLI11_PARSE(app, argc, argv);
  if (access(rtpengine.c_str(), X_OK) != 0)
    Die(rtpengine + " is missing (tools/setup installs rtpengine-daemon)");
  if (srtp_init() != srtp_err_status_ok) Die("libsrtp2");

  const int ng = UdpSocket();
  const uint16_t ng_port = PortOf(ng) + 1;  // rtpengine's control port, next to ours
  const pid_t child = fork();
  if (child == 0) {
    const std::string listen = "--listen-ng=127.0.0.1:" + std::to_string(ng_port);
    execl(rtpengine.c_str(), rtpengine.c_str(), "--foreground", "--table=-1",
          "--interface=127.0.0.1", listen.c_str(), "--num-threads=1", "--port-min=20000",
          "--port-max=60000", "--log-level=3", "--log-stderr", static_cast<char*>(nullptr));
    _exit(127);
  }
  g_rtpengine = child;
  std::this_thread::sleep_for(std::chrono::seconds(2));

  const int sender = UdpSocket(), receiver = UdpSocket();
  std::mt19937 rng(7);
  std::vector<uint16_t> targets(sessions);
  std::vector<std::vector<std::string>> wire(sessions);
  // SRTP->RTP: we are the SRTP callee sending (sender) and the plain caller receiving
  // (receiver). RTP->SRTP: the plain caller sends, the SRTP callee receives.
  const bool encrypt = path == "rtp-to-srtp";
  const int caller = encrypt ? sender : receiver, callee = encrypt ? receiver : sender;
  for (uint32_t i = 0; i < sessions; ++i) {
    const std::string call = "bench-" + std::to_string(i);
    const std::string offer =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
        std::to_string(PortOf(caller)) + " RTP/AVP 0\r\na=sendrecv\r\n";
    const std::string to_callee =
        Ng(ng, ng_port, 2 * int(i),
           Bencode("command") + Bencode("offer") + Bencode("call-id") + Bencode(call) +
               Bencode("from-tag") + Bencode("a") + Bencode("sdp") + Bencode(offer) +
               Bencode("transport-protocol") + Bencode("RTP/SAVP") + Bencode("ICE") +
               Bencode("remove"));
    std::smatch m;
    if (!std::regex_search(to_callee, m, std::regex("m=audio ([0-9]+) RTP/SAVP")))
      Die("offer: " + to_callee);
    targets[i] = uint16_t(std::stoi(m[1]));
    if (!std::regex_search(to_callee, m, std::regex("a=crypto:([0-9]+) AES_CM_128_HMAC_SHA1_80 ")))
      Die("offer without AES_CM_128_HMAC_SHA1_80");
    const std::string tag = m[1];
    unsigned char key[30];
    for (auto& b : key) b = uint8_t(rng());
    const std::string answer =
        "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " +
        std::to_string(PortOf(callee)) + " RTP/SAVP 0\r\na=crypto:" + tag +
        " AES_CM_128_HMAC_SHA1_80 inline:" + Base64(std::string(reinterpret_cast<char*>(key), 30)) +
        "\r\na=sendrecv\r\n";
    const std::string to_caller =
        Ng(ng, ng_port, 2 * int(i) + 1,
           Bencode("command") + Bencode("answer") + Bencode("call-id") + Bencode(call) +
               Bencode("from-tag") + Bencode("a") + Bencode("to-tag") + Bencode("b") +
               Bencode("sdp") + Bencode(answer));
    if (encrypt) {  // the caller sends to the port rtpengine answers it with
      if (!std::regex_search(to_caller, m, std::regex("m=audio ([0-9]+) RTP/AVP")))
        Die("answer: " + to_caller);
      targets[i] = uint16_t(std::stoi(m[1]));
    }
    // What we, the callee, send: SRTP under our key.
    srtp_policy_t policy{};
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    policy.key = key;
    policy.ssrc.type = ssrc_any_outbound;
    policy.window_size = 128;
    srtp_t session = nullptr;
    if (srtp_create(&session, &policy) != srtp_err_status_ok) Die("libsrtp session");
    for (uint32_t p = 0; p < packets_per_session * (repeats + 1); ++p) {
      const uint16_t seq = uint16_t(p + 1);
      const uint32_t ts = 160u * seq, ssrc = 0x1000 + i;
      std::string pkt = {char(0x80),       0,
                         char(seq >> 8),   char(seq),
                         char(ts >> 24),   char(ts >> 16),
                         char(ts >> 8),    char(ts),
                         char(ssrc >> 24), char(ssrc >> 16),
                         char(ssrc >> 8),  char(ssrc)};
      pkt.resize(12 + 160, char(p));
      int len = int(pkt.size());
      pkt.resize(pkt.size() + SRTP_MAX_TRAILER_LEN);
      if (!encrypt && srtp_protect(session, pkt.data(), &len) != srtp_err_status_ok) Die("protect");
      pkt.resize(size_t(len));
      wire[i].push_back(std::move(pkt));
    }
    srtp_dealloc(session);
  }
  const char* shown = encrypt ? "RTP->SRTP" : "SRTP->RTP";
  std::printf(
      "rtpengine_bench: %u sessions set up; %s (AES_CM_128_HMAC_SHA1_80), 172-byte RTP, "
      "rtpengine --num-threads=1 on loopback\n",
      sessions, shown);

  std::atomic<uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::thread counter([&] {
    timeval tv{0, 100000};
    setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    mmsghdr msgs[64];
    iovec iov[64];
    static char bufs[64][256];
    for (int k = 0; k < 64; ++k) {
      iov[k] = {bufs[k], sizeof(bufs[k])};
      msgs[k] = {};
      msgs[k].msg_hdr.msg_iov = &iov[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    while (!stop.load()) {
      const int n = recvmmsg(receiver, msgs, 64, 0, nullptr);
      if (n > 0) received += uint64_t(n);
    }
  });

  std::vector<double> rates;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (uint32_t r = 0; r <= repeats; ++r) {
    const uint64_t before = received.load();
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t round = 0; round < packets_per_session; ++round) {
      const uint32_t p = r * packets_per_session + round;  // sequence numbers only go up
      for (uint32_t i = 0; i < sessions; ++i) {
        to.sin_port = htons(targets[i]);
        (void)sendto(sender, wire[i][p].data(), wire[i][p].size(), 0,
                     reinterpret_cast<sockaddr*>(&to), sizeof(to));
      }
    }
    // Until nothing more comes out for 200 ms: then the last relayed packet was seen.
    auto last = std::chrono::steady_clock::now();
    for (uint64_t seen = received.load();;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const uint64_t now = received.load();
      if (now != seen) {
        seen = now;
        last = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - last > std::chrono::milliseconds(200)) {
        break;
      }
    }
    const double elapsed = std::chrono::duration<double>(last - start).count();
    if (r == 0) continue;  // warm-up
    rates.push_back(double(received.load() - before) / elapsed);
  }
  stop = true;
  counter.join();
  kill(child, SIGTERM);
  waitpid(child, nullptr, 0);
  std::sort(rates.begin(), rates.end());
  const double median = rates[rates.size() / 2];
  std::printf(
      "  rtpengine %s: %.3f Mpps relayed (median of %u; min %.3f max %.3f), "
      "%.0f cycles/packet at 2.60 GHz if one core\n",
      shown, median / 1e6, repeats, rates.front() / 1e6, rates.back() / 1e6, 2.6e9 / median);
  std::printf(
      "{\"rtpengine_%s_mpps\":%.4f,\"sessions\":%u,\"throughput_pps\":{\"median\":%.0f,\"min\":%."
      "0f,"
      "\"max\":%.0f}}\n",
      encrypt ? "rtp_to_srtp" : "srtp_to_rtp", median / 1e6, sessions, median, rates.front(),
      rates.back());
  return 0;
}
