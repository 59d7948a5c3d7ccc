// Interoperability with an SRTP implementation not written here: rtpengine (Debian's
// rtpengine-daemon, userspace, on loopback-like tap links) is the far end of one leg.
//
// sbc-dataplane runs with both data ports as DPDK net_tap devices, moved into a network
// namespace of the test's own (so nothing touches the host's addresses or routes), and
// that namespace's stack is on the wire: wan0's kernel side 203.0.113.1 (rtpengine and a
// plain "caller" socket), lan0's 198.51.100.1 (a plain "phone" socket). The test process
// and rtpengine run in the namespace; sbc-dataplane is reached over its IPC socket. The call is set
// up as an SBC sees it: rtpengine's offer (SRTP, its SDES key) -> our media session (its key in,
// our relay port and key out) -> our answer to rtpengine. Then RTP from the caller goes through
// rtpengine (encrypted there) and our relay (decrypted here) to the phone, and the phone's back the
// other way; payloads compared bit for bit.
//
// Needs root (tap devices, addresses) and rtpengine (tools/setup installs it).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <thread>

#include "sbc/mgmt/service/dataplane_link.h"
#include "support/appliance_processes.h"
#include "support/rtpengine_ng.h"
#include "support/wait.h"

namespace sbc::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Bytes = std::vector<uint8_t>;

constexpr char kRtpengine[] = "/usr/bin/rtpengine";
constexpr char kConfig[] = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
zones { name: "outside" source_sets: ["outside-nets"] }
zones { name: "inside" source_sets: ["inside-nets"] }
prefix_sets { name: "outside-nets" prefixes: ["203.0.113.0/24"] }
prefix_sets { name: "inside-nets" prefixes: ["198.51.100.0/24"] }
media { service_addresses: ["203.0.113.250", "198.51.100.250"] port_min: 20000 port_max: 20999 }
)";

class UdpSocket {
 public:
  UdpSocket(const char* address, uint16_t port = 0) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, address, &a.sin_addr);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{0, 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~UdpSocket() { close(fd_); }
  bool bound() const { return bound_; }
  uint16_t port() const { return port_; }
  void SendTo(const char* address, uint16_t port, const std::string& bytes) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, address, &a.sin_addr);
    (void)sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  }
  // The next datagram within `timeout`, or "". The default is generous: a datagram on
  // its way comes at once; only a lost one costs the wait.
  std::string Receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(30'000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) return std::string(buf, static_cast<size_t>(n));
    }
    return "";
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  uint16_t port_ = 0;
};

std::string RtpPacket(uint32_t ssrc, uint16_t seq, std::mt19937& rng) {
  const uint32_t ts = 160u * seq;
  std::string p = {char(0x80),       char(0x00),       char(seq >> 8),  char(seq),
                   char(ts >> 24),   char(ts >> 16),   char(ts >> 8),   char(ts),
                   char(ssrc >> 24), char(ssrc >> 16), char(ssrc >> 8), char(ssrc)};
  for (int i = 0; i < 160; ++i) p.push_back(char(rng()));
  return p;
}

class RtpengineInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !fs::exists(kRtpengine) || !fs::exists("/dev/net/tun"))
      GTEST_SKIP() << "needs root, /dev/net/tun and rtpengine-daemon (tools/setup)";
    tag_ = std::to_string(getpid() % 100000);
    // A container may hold root without the right to make tap devices or namespaces.
    if (!CanMakeTap("sbcprobe" + tag_))
      GTEST_SKIP() << "this machine does not let us create tap devices";
    if (Ip({"netns", "add", "sbcprobe" + tag_}) != 0)
      GTEST_SKIP() << "this machine does not let us create network namespaces";
    (void)Ip({"netns", "del", "sbcprobe" + tag_});
    dir_ = fs::temp_directory_path() / ("sbc-rtpengine-" + tag_);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    appliance_ = std::make_unique<ApplianceProcesses>(
        dir_, ApplianceBinaries{SBC_SIGN_BIN, SBC_MGMTD_BIN, SBC_DATAPLANE_BIN});
    ASSERT_EQ(appliance_->Provision(), "");
    const std::string bundle = appliance_->SignedBundle(kConfig, 1);
    ASSERT_FALSE(bundle.empty());
    // The sim board with tap ports whose kernel sides the test and rtpengine use.
    wan_ = "sbcw" + tag_;
    lan_ = "sbcl" + tag_;
    std::ifstream in(ApplianceProcesses::Board());
    std::string board((std::istreambuf_iterator<char>(in)), {});
    board.replace(board.find("vdev: \"net_ring0\""), 17, "vdev: \"net_tap0,iface=" + wan_ + "\"");
    board.replace(board.find("vdev: \"net_ring1\""), 17, "vdev: \"net_tap1,iface=" + lan_ + "\"");
    std::ofstream(dir_ / "board.textproto") << board;
    socket_ = (dir_ / "dataplane.sock").string();
    dataplane_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SBC_DATAPLANE_BIN, "--board", (dir_ / "board.textproto").string(),
                                 "--data-dir", dir_.string(), "--config", bundle, "--keep-running",
                                 "--ipc-socket", socket_, "--stats-interval", "3600",
                                 "--file-prefix", "sbc-rtpengine-" + tag_},
        (dir_ / "dataplane.log").string());
    ASSERT_THAT(dataplane_->WaitForLog("forwarding"), HasSubstr("forwarding"));
    // The taps' kernel sides go into a namespace of our own, and so does this process.
    netns_ = "sbcinterop" + tag_;
    ASSERT_EQ(Ip({"netns", "add", netns_}), 0);
    for (const std::string& dev : {wan_, lan_})
      ASSERT_EQ(Ip({"link", "set", dev, "netns", netns_}), 0) << dev;
    for (std::vector<std::string> cmd : {std::vector<std::string>{"link", "set", "lo", "up"},
                                         {"link", "set", wan_, "up"},
                                         {"link", "set", lan_, "up"},
                                         {"addr", "add", "203.0.113.1/24", "dev", wan_},
                                         {"addr", "add", "198.51.100.1/24", "dev", lan_}}) {
      cmd.insert(cmd.begin(), {"netns", "exec", netns_, "/usr/sbin/ip"});
      ASSERT_EQ(Ip(cmd), 0);
    }
    const int ns = open(("/run/netns/" + netns_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(ns, 0);
    ASSERT_EQ(setns(ns, CLONE_NEWNET), 0);
    close(ns);
    ng_port_ = static_cast<uint16_t>(FreeLoopbackPort());
    rtpengine_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{
            "/usr/sbin/ip", "netns", "exec", netns_, kRtpengine, "--foreground", "--log-stderr",
            "--table=-1", "--interface=203.0.113.1",
            "--listen-ng=127.0.0.1:" + std::to_string(ng_port_), "--port-min=30000",
            "--port-max=30999", "--log-level=6", "--pidfile=" + (dir_ / "rtpengine.pid").string()},
        (dir_ / "rtpengine.log").string());
    ASSERT_THAT(rtpengine_->WaitForLog("Startup complete"), HasSubstr("Startup complete"));
  }
  void TearDown() override {
    rtpengine_.reset();
    dataplane_.reset();
    if (!netns_.empty()) (void)Ip({"netns", "del", netns_});
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);  // kept for a look when it failed
  }

  // One ng command; the reply's "sdp", or "" with the whole reply in *raw.
  std::string Ng(const std::string& command, const std::string& sdp, const std::string& extra,
                 std::string* raw) {
    UdpSocket ng("127.0.0.1");
    ng.SendTo("127.0.0.1", ng_port_,
              NgMessage(++cookies_, Bencode("command") + Bencode(command) + Bencode("call-id") +
                                        Bencode("sbc-interop-" + tag_) + Bencode("sdp") +
                                        Bencode(sdp) + extra));
    *raw = ng.Receive(std::chrono::milliseconds(60'000));
    return NgReplySdp(*raw);
  }

  // What each side saw, for a failure message.
  std::string Diagnose(mgmt::service::UnixDataplaneLink& link) {
    std::string out;
    schema::DataplaneRequest list;
    list.set_media_list(true);
    if (auto l = link.Call(list)) out += l->DebugString();
    schema::DataplaneRequest counters;
    counters.set_get_counters(true);
    if (auto c = link.Call(counters))
      for (const auto& n : c->counters())
        if (n.value() != 0) out += n.name() + " " + std::to_string(n.value()) + "\n";
    std::ifstream log(dir_ / "rtpengine.log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    out += "rtpengine: " + text.substr(text.size() > 3000 ? text.size() - 3000 : 0);
    return out;
  }

  static bool CanMakeTap(const std::string& name) {
    const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    ifreq request{};
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    const bool made = ioctl(fd, TUNSETIFF, &request) == 0;
    close(fd);  // the device goes with the descriptor
    return made;
  }
  static int Ip(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/sbin/ip");
    return RunProcess(args).exit_code;
  }

  fs::path dir_;
  std::string tag_, wan_, lan_, socket_, netns_;
  uint16_t ng_port_ = 0;
  int cookies_ = 0;
  std::unique_ptr<ApplianceProcesses> appliance_;
  std::unique_ptr<BackgroundProcess> dataplane_, rtpengine_;
};

TEST_F(RtpengineInteropTest, MediaCrossesRtpengineAndOurRelayBothWays) {
  UdpSocket caller("203.0.113.1"), phone("198.51.100.1");
  ASSERT_TRUE(caller.bound() && phone.bound());

  // 1. The caller's plain offer through rtpengine, which turns it into SRTP toward us.
  const std::string offer =
      "v=0\r\no=- 1 1 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\nt=0 0\r\n"
      "m=audio " +
      std::to_string(caller.port()) +
      " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=sendrecv\r\n";
  std::string raw;
  const std::string to_us =
      Ng("offer", offer,
         Bencode("from-tag") + Bencode("caller") + Bencode("transport-protocol") +
             Bencode("RTP/SAVP") + Bencode("ICE") + Bencode("remove"),
         &raw);
  ASSERT_FALSE(to_us.empty()) << raw;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(to_us, m, std::regex("m=audio ([0-9]+) RTP/SAVP"))) << to_us;
  const std::string rtpengine_port = m[1];
  ASSERT_TRUE(std::regex_search(
      to_us, m, std::regex("a=crypto:([0-9]+) AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)")))
      << to_us;
  const std::string crypto_tag = m[1];
  const std::string their_key = Unbase64(m[2]);
  ASSERT_EQ(their_key.size(), 30u);

  // 2. Our session: rtpengine's key in; our relay port and key out.
  mgmt::service::UnixDataplaneLink link(socket_);
  schema::DataplaneRequest create;
  schema::MediaSession* session = create.mutable_media_create()->add_sessions();
  schema::MediaLeg* a = session->add_legs();
  a->set_interface("wan0");
  a->set_remote("203.0.113.1:" + rtpengine_port);
  a->set_local_address("203.0.113.250");
  a->set_suite(schema::AES_CM_128_HMAC_SHA1_80);
  a->set_leg_key(their_key);
  schema::MediaLeg* b = session->add_legs();
  b->set_interface("lan0");
  b->set_remote("198.51.100.1:" + std::to_string(phone.port()));
  b->set_local_address("198.51.100.250");
  auto created = link.Call(create);
  ASSERT_TRUE(created.has_value()) << created.error();
  ASSERT_EQ(created->media_sessions_size(), 1);
  const schema::MediaSession& ours = created->media_sessions(0);
  ASSERT_EQ(ours.error(), "");
  const std::string our_wan = ours.legs(0).local(), our_lan = ours.legs(1).local();
  const uint16_t our_wan_port = uint16_t(std::stoi(our_wan.substr(our_wan.find(':') + 1)));
  const uint16_t our_lan_port = uint16_t(std::stoi(our_lan.substr(our_lan.find(':') + 1)));

  // 3. Our answer to rtpengine; its answer toward the caller says where to send.
  const std::string answer =
      "v=0\r\no=- 2 2 IN IP4 203.0.113.250\r\ns=-\r\nc=IN IP4 203.0.113.250\r\nt=0 0\r\n"
      "m=audio " +
      std::to_string(our_wan_port) +
      " RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
      "a=crypto:" +
      crypto_tag + " AES_CM_128_HMAC_SHA1_80 inline:" + Base64(ours.legs(0).our_key()) +
      "\r\na=sendrecv\r\n";
  const std::string to_caller =
      Ng("answer", answer,
         Bencode("from-tag") + Bencode("caller") + Bencode("to-tag") + Bencode("callee"), &raw);
  ASSERT_FALSE(to_caller.empty()) << raw;
  ASSERT_TRUE(std::regex_search(to_caller, m, std::regex("m=audio ([0-9]+) RTP/AVP"))) << to_caller;
  const uint16_t rtpengine_caller_port = uint16_t(std::stoi(m[1]));

  std::mt19937 rng(31);
  // The phone speaks first, so our relay learns its link address: until it has.
  for (uint16_t seq = 1; seq <= 3; ++seq)
    phone.SendTo("198.51.100.250", our_lan_port, RtpPacket(0xbbbb, seq, rng));
  schema::DataplaneRequest list_now;
  list_now.set_media_list(true);
  EXPECT_TRUE(WaitUntil([&] {
    auto listed = link.Call(list_now);
    return listed && listed->media_sessions_size() >= 1 &&
           listed->media_sessions(0).legs_size() == 2 &&
           listed->media_sessions(0).legs(1).packets_in() >= 3;
  })) << Diagnose(link);  // (they go no further: rtpengine's side is not known yet)
  // 4. caller -> rtpengine (SRTP there) -> our relay (plain here) -> phone.
  int phone_got = 0;
  for (uint16_t seq = 1; seq <= 50; ++seq) {
    const std::string sent = RtpPacket(0xaaaa, seq, rng);
    caller.SendTo("203.0.113.1", rtpengine_caller_port, sent);
    const std::string got = phone.Receive();
    if (got.empty()) continue;
    EXPECT_EQ(got, sent) << "seq " << seq;
    ++phone_got;
  }
  EXPECT_GE(phone_got, 48) << "media from rtpengine did not reach the phone\n" << Diagnose(link);
  // 5. phone -> our relay (SRTP here) -> rtpengine (plain there) -> caller.
  int caller_got = 0;
  for (uint16_t seq = 4; seq <= 53; ++seq) {
    const std::string sent = RtpPacket(0xbbbb, seq, rng);
    phone.SendTo("198.51.100.250", our_lan_port, sent);
    const std::string got = caller.Receive();
    if (got.empty()) continue;
    EXPECT_EQ(got, sent) << "seq " << seq;
    ++caller_got;
  }
  EXPECT_GE(caller_got, 48) << "our SRTP did not come through rtpengine\n" << Diagnose(link);

  // Our side saw authenticated SRTP from rtpengine and no failures.
  schema::DataplaneRequest list;
  list.set_media_list(true);
  auto listed = link.Call(list);
  ASSERT_TRUE(listed.has_value());
  ASSERT_GE(listed->media_sessions_size(), 1);
  const schema::MediaLeg& wan_leg = listed->media_sessions(0).legs(0);
  EXPECT_GE(wan_leg.packets_in(), 48u);
  EXPECT_EQ(wan_leg.auth_failures(), 0u);
  EXPECT_EQ(wan_leg.replays(), 0u);
}

}  // namespace
}  // namespace sbc::testing
