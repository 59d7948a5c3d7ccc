// Media sessions through the control API, end to end without the SSH tunnel (see
// sbcctl_ssh_e2e_test for that): sbc-dataplane on the sim board and sbc-mgmtd as built,
// a signed config with a media section, a signaling user with a certificate from the
// appliance's CA, and sbcctl media create / list / delete. The signaling role alone
// may do it; refused sessions say why; keys and addresses stay out of the audit log;
// an idle session ends and the listing says so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "support/appliance_processes.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kConfig[] = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
zones { name: "outside" source_sets: ["outside-nets"] }
zones { name: "inside" source_sets: ["inside-nets"] }
prefix_sets { name: "outside-nets" prefixes: ["203.0.113.0/24"] }
prefix_sets { name: "inside-nets" prefixes: ["192.0.2.0/24"] }
media {
  service_addresses: ["192.0.2.250"]
  port_min: 20000
  port_max: 20999
  allowed_suites: [AES_CM_128_HMAC_SHA1_80, AEAD_AES_128_GCM]
  idle_timeout_s: IDLE
}
)";

// The config with media.idle_timeout_s `idle`: an hour where sessions must outlive
// however long a loaded machine's sbcctl calls take; 2 s to see one end.
std::string ConfigWithIdle(int idle) {
  std::string config = kConfig;
  config.replace(config.find("IDLE"), 4, std::to_string(idle));
  return config;
}

// 30 bytes (AES-128 master key and salt) in base64.
constexpr char kLegKey[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

class MediaControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sbc-media-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    appliance_ = std::make_unique<ApplianceProcesses>(
        dir_, ApplianceBinaries{SBC_SIGN_BIN, SBC_MGMTD_BIN, SBC_DATAPLANE_BIN});
    ASSERT_EQ(appliance_->Provision(), "");
    const std::string bundle = appliance_->SignedBundle(ConfigWithIdle(idle_timeout_s()), 1);
    ASSERT_FALSE(bundle.empty());
    dataplane_ = appliance_->StartDataplane({"--keep-running", "--sim-rate", "1000",
                                             "--stats-interval", "3600", "--file-prefix",
                                             "sbc-media-" + std::to_string(getpid())});
    ASSERT_NE(dataplane_, nullptr);
    mgmtd_ = appliance_->StartMgmtd(&port_);
    ASSERT_NE(mgmtd_, nullptr);
    {
      auto r = As("admin", {"config", "push", bundle});
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    // A signaling user, with a key of its own and a certificate from the appliance's CA.
    AddUser("sig", "signaling");
  }
  virtual int idle_timeout_s() const { return 3600; }
  void AddUser(const std::string& name, const std::string& role) {
    ASSERT_EQ(As("admin", {"users", "add", name, "--role", role}).exit_code, 0);
    ASSERT_EQ(
        RunProcess({SBCCTL_BIN, "users", "request-cert", name, "--dir", P("client")}).exit_code, 0);
    ASSERT_EQ(As("admin", {"users", "approve-cert", name, "--csr", P("client/" + name + ".csr"),
                           "--out", P("client/" + name + ".pem")})
                  .exit_code,
              0);
  }
  void TearDown() override {
    mgmtd_.reset();
    dataplane_.reset();
    fs::remove_all(dir_);
  }
  // A call as the signaling user creates it: a plain RTP gateway on wan0 (remote
  // given), an SRTP phone on lan0 (latched). Its id ("" if refused); `created` the reply.
  std::string CreateCall(ProcessResult* created) {
    *created =
        As("sig", {"media", "create", "--leg", "interface=wan0,remote=203.0.113.5:4000", "--leg",
                   std::string("interface=lan0,suite=AES_CM_128_HMAC_SHA1_80,key=") + kLegKey});
    EXPECT_EQ(created->exit_code, 0) << created->err;
    std::smatch m;
    if (!std::regex_search(created->out, m, std::regex("media session ([0-9]+)\n"))) return "";
    return m[1];
  }
  std::string P(const std::string& name) const { return (dir_ / name).string(); }
  ProcessResult As(const std::string& user, std::vector<std::string> args) {
    std::vector<std::string> argv = {SBCCTL_BIN,
                                     "--connect",
                                     "127.0.0.1:" + port_,
                                     "--ca",
                                     P("client/ca.pem"),
                                     "--cert",
                                     P("client/" + user + ".pem"),
                                     "--key",
                                     P("client/" + user + ".key")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  fs::path dir_;
  std::unique_ptr<ApplianceProcesses> appliance_;
  std::unique_ptr<BackgroundProcess> dataplane_, mgmtd_;
  std::string port_;
};

TEST_F(MediaControlTest, SignalingCreatesListsAndDeletesSessions) {
  ProcessResult r;
  const std::string id = CreateCall(&r);
  ASSERT_FALSE(id.empty());
  EXPECT_THAT(r.out, ::testing::ContainsRegex("wan0 local 192\\.0\\.2\\.250:20[0-9]{3} plain"));
  // Our key for the phone, for the SDP answer: 30 bytes, base64.
  EXPECT_THAT(r.out, ::testing::ContainsRegex(
                         "lan0 local 192\\.0\\.2\\.250:20[0-9]{3} AES_CM_128_HMAC_SHA1_80 "
                         "our key [A-Za-z0-9+/]{40}\n"));

  r = As("sig", {"media", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("media session " + id + "\n"));
  EXPECT_THAT(r.out, HasSubstr("remote 203.0.113.5:4000"));
  EXPECT_THAT(r.out, HasSubstr("remote (not yet)"));
  EXPECT_EQ(r.out.find("our key"), std::string::npos) << "a key in a listing";

  // Only the signaling role manages media (the administrator holds every other role).
  r = As("admin", {"media", "list"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("may not call MEDIA_SESSION_LIST"));

  // Refusals say why: a suite the config does not allow, a short key, an unknown port.
  r = As("sig", {"media", "create", "--leg", "interface=wan0,remote=203.0.113.5:4002", "--leg",
                 std::string("interface=lan0,suite=AES_CM_128_HMAC_SHA1_32,key=") + kLegKey});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("AES_CM_128_HMAC_SHA1_32 is not in media.allowed_suites"));
  r = As("sig", {"media", "create", "--leg", "interface=wan0,remote=203.0.113.5:4002", "--leg",
                 "interface=lan0,suite=AES_CM_128_HMAC_SHA1_80,key=AAEC"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("leg_key must be 30 bytes"));
  r = As("sig", {"media", "create", "--leg", "interface=eth9", "--leg", "interface=lan0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no data port \"eth9\""));
  r = As("sig", {"media", "create", "--leg", "interface=wan0,suite=AES_CM_128_HMAC_SHA1_80",
                 "--leg", "interface=lan0"});
  EXPECT_EQ(r.exit_code, 2) << "suite without key is a usage error";

  r = As("sig", {"media", "delete", id});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = As("sig", {"media", "delete", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no media session " + id));

  // The audit log names sessions, interfaces and suites; never addresses or keys.
  // (The auditor reads it; the administrator may only verify it.)
  r = As("admin", {"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  AddUser("aud", "auditor");
  r = As("aud", {"audit", "show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sig MEDIA_SESSION_CREATE OK  created " + id +
                               " (wan0 plain <-> lan0 AES_CM_128_HMAC_SHA1_80)"));
  EXPECT_THAT(r.out, HasSubstr("sig MEDIA_SESSION_DELETE OK  deleted " + id));
  EXPECT_THAT(r.out, HasSubstr("sig MEDIA_SESSION_DELETE REFUSED"));
  EXPECT_EQ(r.out.find("203.0.113.5"), std::string::npos) << "an address in the audit log";
  EXPECT_EQ(r.out.find(kLegKey), std::string::npos) << "a key in the audit log";
}

// A re-offer (re-INVITE) changes a live session: a new remote, the same SDES key again
// (its stream goes on, ours too: no new key in the reply), or a new key of ours when
// asked. What cannot change on a live leg is refused with the reason.
TEST_F(MediaControlTest, SignalingUpdatesALiveSession) {
  ProcessResult r;
  const std::string id = CreateCall(&r);
  ASSERT_FALSE(id.empty());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("lan0 (local 192\\.0\\.2\\.250:20[0-9]{3}) ")))
      << r.out;
  const std::string lan_local = m[1];

  r = As("sig", {"media", "update", id, "--leg", "remote=203.0.113.6:4000", "--leg",
                 std::string("suite=AES_CM_128_HMAC_SHA1_80,key=") + kLegKey});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("lan0 " + lan_local + " AES_CM_128_HMAC_SHA1_80\n"))
      << "the relay port stays";
  EXPECT_EQ(r.out.find("our key"), std::string::npos) << "ours stays while the suite does";
  r = As("sig", {"media", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("remote 203.0.113.6:4000"));

  r = As("sig", {"media", "update", id, "--leg", "remote=203.0.113.6:4000", "--leg",
                 "suite=AES_CM_128_HMAC_SHA1_80,newkey"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex(
                  "lan0 local [0-9.:]+ AES_CM_128_HMAC_SHA1_80 our key [A-Za-z0-9+/]{40}\n"));

  r = As("sig", {"media", "update", id, "--leg", "remote=203.0.113.6:4000", "--leg",
                 "suite=AEAD_AES_128_GCM"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("legs[1]: leg_key is needed for AEAD_AES_128_GCM"));
  r = As("sig", {"media", "update", id, "--leg", "remote=203.0.113.6:4000,mux", "--leg", ""});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("legs[0]: rtcp_mux of a live leg stays as created (off)"));
  r = As("sig", {"media", "update", id, "--leg", "interface=lan0", "--leg", ""});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("a live leg stays on its data port (wan0)"));
  r = As("sig", {"media", "update", "999", "--leg", "", "--leg", ""});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no media session 999"));
  r = As("sig", {"media", "update", id, "--leg", "key=" + std::string(kLegKey), "--leg", ""});
  EXPECT_EQ(r.exit_code, 2) << "a key without a suite is a usage error";

  // Plain both ways now; the session is still there, still on its ports.
  r = As("sig", {"media", "update", id, "--leg", "", "--leg", ""});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = As("sig", {"media", "list"});
  EXPECT_THAT(r.out, HasSubstr("lan0 " + lan_local + " plain"));

  AddUser("aud", "auditor");
  r = As("aud", {"audit", "show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("sig MEDIA_SESSION_UPDATE OK  updated " + id +
                               " (wan0 plain <-> lan0 AES_CM_128_HMAC_SHA1_80)"));
  EXPECT_THAT(r.out, HasSubstr("sig MEDIA_SESSION_UPDATE REFUSED"));
  EXPECT_EQ(r.out.find("203.0.113.6"), std::string::npos) << "an address in the audit log";
  EXPECT_EQ(r.out.find(kLegKey), std::string::npos) << "a key in the audit log";
}

// Relay ports come from a random start each time (they used to be handed out in
// order, so one call's ports told the next call's), and SDES keys can stay off the
// command line (which every user of the machine can read): from a file or stdin.
TEST_F(MediaControlTest, PortsAreUnpredictableAndKeysStayOffTheCommandLine) {
  std::vector<int> ports;
  const std::string key_file = P("leg.key");
  std::ofstream(key_file) << kLegKey << "\n";
  for (int call = 0; call < 6; ++call) {
    const std::string phone =
        call % 2 ? "interface=lan0,suite=AES_CM_128_HMAC_SHA1_80,keyfile=" + key_file
                 : "interface=lan0,suite=AES_CM_128_HMAC_SHA1_80,key=-";
    std::vector<std::string> argv = {
        SBCCTL_BIN,
        "--connect",
        "127.0.0.1:" + port_,
        "--ca",
        P("client/ca.pem"),
        "--cert",
        P("client/sig.pem"),
        "--key",
        P("client/sig.key"),
        "media",
        "create",
        "--leg",
        "interface=wan0,remote=203.0.113.5:" + std::to_string(4000 + call),
        "--leg",
        phone};
    const ProcessResult r = RunProcessWithInput(argv, std::string(kLegKey) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    static const std::regex kLocal("local 192\\.0\\.2\\.250:([0-9]+)");
    for (std::sregex_iterator m(r.out.begin(), r.out.end(), kLocal), end; m != end; ++m)
      ports.push_back(std::stoi((*m)[1]));
  }
  ASSERT_EQ(ports.size(), 12u);
  bool in_order = true;
  for (size_t i = 1; i < ports.size(); ++i) in_order &= ports[i] == ports[i - 1] + 2;
  EXPECT_FALSE(in_order) << "twelve ports, each the one after the last";
  // Inline still works, but says what it costs.
  ProcessResult created;
  (void)CreateCall(&created);
  EXPECT_THAT(created.err, HasSubstr("a key on the command line is visible to other users"));
}

class MediaIdleTest : public MediaControlTest {
 protected:
  int idle_timeout_s() const override { return 2; }
};

TEST_F(MediaIdleTest, AnIdleSessionEndsAndTheListingSaysWhy) {
  auto r =
      As("sig", {"media", "create", "--id", "77", "--leg", "interface=wan0,remote=203.0.113.5:4000",
                 "--leg", "interface=lan0,remote=192.0.2.50:5000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // media.idle_timeout_s is 2: the dataplane ends it (and says so) once it has seen
  // no media for that long.
  EXPECT_THAT(dataplane_->WaitForLog("media session 77 ended"),
              HasSubstr("no media either way for 2 s"));
  r = As("sig", {"media", "list"});
  EXPECT_THAT(r.out, HasSubstr("media session 77 ended: idle"));
  EXPECT_EQ(As("sig", {"media", "delete", "77"}).exit_code, 1) << "gone already";
}

}  // namespace
}  // namespace sbc::testing
