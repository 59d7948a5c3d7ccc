// End to end, as an operator works: sbc-dataplane on the sim board forwarding sim
// traffic, sbc-mgmtd beside it (IPC over a Unix socket), a real OpenSSH sshd on loopback
// (its own host key and config in a temp dir), and sbcctl --ssh opening the tunnel
// itself: push signed configs (made with sbc-sign), see the dataplane's counters move
// under them, roll back, read and verify the audit log; a wrong SSH key is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <thread>

#include "sbc/mgmt/service/dataplane_link.h"
#include "support/appliance_processes.h"
#include "support/wait.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class SbcctlSshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !fs::exists("/usr/sbin/sshd"))
      GTEST_SKIP() << "needs root and openssh-server (tools/setup)";
    dir_ = fs::temp_directory_path() / ("sbc-e2e-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ssh");
    fs::create_directories("/run/sshd");  // sshd's privilege-separation directory

    // A signing key of our own, trusted by this appliance's development trust root.
    appliance_ = std::make_unique<ApplianceProcesses>(
        dir_, ApplianceBinaries{SBC_SIGN_BIN, SBC_MGMTD_BIN, SBC_DATAPLANE_BIN});
    ASSERT_EQ(appliance_->Provision(), "");
    for (int v : {1, 2}) MakeBundle(v);
    // The dataplane starts with no rules (everything dropped) and waits for sbc-mgmtd.
    dataplane_ = appliance_->StartDataplane(
        {"--keep-running", "--sim-rate", "20000", "--stats-interval", "3600"});
    ASSERT_NE(dataplane_, nullptr);
    mgmtd_ = appliance_->StartMgmtd(&mgmtd_port_);
    ASSERT_NE(mgmtd_, nullptr);

    // sshd with its own host key, the test's client key authorised, forwarding allowed.
    for (const char* k : {"host", "id", "stranger"})
      ASSERT_EQ(Run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     P(std::string("ssh/") + k)})
                    .exit_code,
                0);
    fs::copy_file(dir_ / "ssh/id.pub", dir_ / "ssh/authorized_keys");
    ssh_port_ = std::to_string(FreeLoopbackPort());
    std::ofstream(dir_ / "ssh/known_hosts")
        << "[127.0.0.1]:" << ssh_port_ << " " << Slurp(dir_ / "ssh/host.pub");
    std::ofstream(dir_ / "ssh/sshd_config")
        << "Port " << ssh_port_ << "\nListenAddress 127.0.0.1\nHostKey " << P("ssh/host")
        << "\nPidFile " << P("ssh/sshd.pid") << "\nAuthorizedKeysFile " << P("ssh/authorized_keys")
        << "\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication "
           "yes\nUsePAM no\n"
           "StrictModes no\nAllowTcpForwarding local\nPermitTTY no\nPermitRootLogin "
           "prohibit-password\n";
    sshd_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/sbin/sshd", "-D", "-e", "-f", P("ssh/sshd_config")},
        P("sshd.log"));
    ASSERT_THAT(sshd_->WaitForLog("Server listening"), HasSubstr("Server listening"))
        << Slurp(dir_ / "sshd.log");
  }
  void TearDown() override {
    sshd_.reset();
    mgmtd_.reset();
    dataplane_.reset();
    fs::remove_all(dir_);
  }

  std::string P(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Board() { return std::string(SBC_SOURCE_DIR) + "/board/sim.textproto"; }
  static ProcessResult Run(std::vector<std::string> argv) { return RunProcess(argv); }

  void MakeBundle(int version) {
    // Version 2 shortens the UDP timeout, so the two differ.
    std::string config = Slurp(std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.textproto");
    if (version == 2) config.replace(config.find("udp_timeout_s: 120"), 18, "udp_timeout_s: 90");
    ASSERT_EQ(appliance_->SignedBundle(config, version),
              P("v" + std::to_string(version) + ".bundle"));
  }

  // sbcctl through the real tunnel, as the user this test runs as.
  ProcessResult Sbcctl(std::vector<std::string> args, const std::string& identity = "ssh/id") {
    const std::string user = getpwuid(geteuid())->pw_name;
    std::vector<std::string> argv = {SBCCTL_BIN,
                                     "--ssh",
                                     user + "@127.0.0.1",
                                     "--ssh-option",
                                     "Port=" + ssh_port_,
                                     "--ssh-option",
                                     "IdentityFile=" + P(identity),
                                     "--ssh-option",
                                     "IdentitiesOnly=yes",
                                     "--ssh-option",
                                     "UserKnownHostsFile=" + P("ssh/known_hosts"),
                                     "--ssh-option",
                                     "StrictHostKeyChecking=yes",
                                     "--connect",
                                     "127.0.0.1:" + mgmtd_port_,
                                     "--ca",
                                     P("client/ca.pem"),
                                     "--cert",
                                     P("client/admin.pem"),
                                     "--key",
                                     P("client/admin.key")};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }

  fs::path dir_;
  // sbcctl through the tunnel with other credentials (given in `args`).
  ProcessResult SbcctlAs(std::vector<std::string> args) {
    const std::string user = getpwuid(geteuid())->pw_name;
    std::vector<std::string> argv = {SBCCTL_BIN,
                                     "--ssh",
                                     user + "@127.0.0.1",
                                     "--ssh-option",
                                     "Port=" + ssh_port_,
                                     "--ssh-option",
                                     "IdentityFile=" + P("ssh/id"),
                                     "--ssh-option",
                                     "IdentitiesOnly=yes",
                                     "--ssh-option",
                                     "UserKnownHostsFile=" + P("ssh/known_hosts"),
                                     "--ssh-option",
                                     "StrictHostKeyChecking=yes",
                                     "--connect",
                                     "127.0.0.1:" + mgmtd_port_,
                                     "--ca",
                                     P("client/ca.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }

  // The value of `name` in `sbcctl counters` output, or -1.
  long Counter(const std::string& name) {
    const auto r = Sbcctl({"counters"});
    std::smatch m;
    if (r.exit_code != 0 || !std::regex_search(r.out, m, std::regex("(^|\n)" + name + " ([0-9]+)")))
      return -1;
    return std::stol(m[2]);
  }

  std::unique_ptr<ApplianceProcesses> appliance_;
  std::unique_ptr<BackgroundProcess> dataplane_, mgmtd_, sshd_;
  std::string mgmtd_port_, ssh_port_;
};

TEST_F(SbcctlSshTest, OperatorManagesTheApplianceThroughTheTunnel) {
  auto r = Sbcctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err << Slurp(dir_ / "sshd.log");
  EXPECT_THAT(r.out, HasSubstr("running config version 0"));

  // Before any config the dataplane drops everything it receives.
  EXPECT_EQ(Counter("rules_version"), 0);
  EXPECT_GT(Counter("drop.no_rule_set"), 0);

  r = Sbcctl({"config", "push", P("v1.bundle")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  EXPECT_EQ(Counter("rules_version"), 1);
  // Traffic now passes under the pushed rules, and the counters keep moving.
  const long first = Counter("rule.carrier-rtp.packets");
  EXPECT_GT(first, 0) << Slurp(dir_ / "dataplane.log");
  EXPECT_TRUE(WaitUntil([&] { return Counter("rule.carrier-rtp.packets") > first; }));

  r = Sbcctl({"config", "push", P("v2.bundle"), "--confirm-within", "300"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl({"config", "confirm"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl({"config", "push", P("v1.bundle")});
  EXPECT_EQ(r.exit_code, 1) << "a replayed version must be refused";
  EXPECT_THAT(r.err, HasSubstr("version_not_newer"));

  r = Sbcctl({"config", "diff", "1", "2"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("-  udp_timeout_s: 120\n+  udp_timeout_s: 90"));

  r = Sbcctl({"config", "rollback", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl({"--output", "json", "status"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("\"running_version\":\"1\""));
  EXPECT_THAT(r.out, HasSubstr("\"highest_version\":\"2\""));
  EXPECT_EQ(Counter("rules_version"), 1) << "the rollback reached the dataplane";

  r = Sbcctl({"users", "add", "nina", "--role", "operator", "--role", "auditor"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl({"users", "list"});
  EXPECT_THAT(r.out, HasSubstr("nina OPERATOR,AUDITOR"));
  EXPECT_THAT(Slurp(dir_ / "keys/users.textproto"), HasSubstr("nina"))
      << "the change was not persisted";
  // nina makes her key and request; the administrator approves; nina is served.
  fs::create_directories(dir_ / "nina");
  r = RunProcess({SBCCTL_BIN, "users", "request-cert", "nina", "--dir", P("nina")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl(
      {"users", "approve-cert", "nina", "--csr", P("nina/nina.csr"), "--out", P("nina/nina.pem")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl(
      {"users", "approve-cert", "mallory", "--csr", P("nina/nina.csr"), "--out", P("nina/m.pem")});
  EXPECT_EQ(r.exit_code, 1) << "a certificate for a user that does not exist";
  r = SbcctlAs({"--cert", P("nina/nina.pem"), "--key", P("nina/nina.key"), "config", "history"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = SbcctlAs({"--cert", P("nina/nina.pem"), "--key", P("nina/nina.key"), "users", "list"});
  EXPECT_EQ(r.exit_code, 0) << "nina is an auditor: " << r.err;

  r = Sbcctl({"users", "remove", "admin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("last security-admin"));

  r = Sbcctl({"audit", "show"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("admin CONFIG_ROLLBACK OK  rolled back from version 2 to 1"));
  EXPECT_THAT(r.out, HasSubstr("admin CONFIG_PUSH REFUSED"));
  r = Sbcctl({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("audit log intact"));

  // Every tunnel of this test (to its own sshd's port: tests of other fixtures run
  // beside it with tunnels of their own) was closed again.
  EXPECT_EQ(RunProcess({"/usr/bin/pgrep", "-f", "ssh -N -L 127.0.0.1:.* Port=" + ssh_port_ + " "})
                .exit_code,
            1);
}

TEST_F(SbcctlSshTest, TheDataplaneKeepsForwardingWhileMgmtdIsDownAndAfterItRestarts) {
  ASSERT_EQ(Sbcctl({"config", "push", P("v2.bundle")}).exit_code, 0);
  ASSERT_EQ(Counter("rules_version"), 2);
  mgmtd_.reset();  // sbc-mgmtd stops
  mgmt::service::UnixDataplaneLink link((dir_ / "run/dataplane.sock").string());
  schema::DataplaneRequest ask;
  ask.set_get_counters(true);
  auto packets = [&] {
    auto reply = link.Call(ask);
    EXPECT_TRUE(reply.has_value());
    if (!reply) return -1L;
    for (const auto& c : reply->counters())
      if (c.name() == "rule.carrier-rtp.packets") return long(c.value());
    return -1L;
  };
  const long before = packets();
  EXPECT_TRUE(WaitUntil([&] { return packets() > before; })) << "forwarding stopped with sbc-mgmtd";
  EXPECT_EQ(link.Call(ask)->rules_version(), 2u);
  // sbc-mgmtd comes back and finds the dataplane already running its version.
  mgmtd_ = std::make_unique<BackgroundProcess>(
      std::vector<std::string>{SBC_MGMTD_BIN, "--board", Board(), "--data-dir", dir_.string(),
                               "--port", mgmtd_port_},
      P("mgmtd2.log"));
  ASSERT_THAT(mgmtd_->WaitForLog("control API on"), HasSubstr("running config version 2"));
  EXPECT_EQ(Counter("rules_version"), 2);
}

TEST_F(SbcctlSshTest, OnlyTheDataplanesOwnUserMayUseItsSocket) {
  const std::string socket = (dir_ / "run/dataplane.sock").string();
  // Even with the file mode opened up, the peer-credential check refuses others.
  fs::permissions(socket, fs::perms::all);
  const pid_t child = fork();
  if (child == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);  // nobody
    mgmt::service::UnixDataplaneLink link(socket);
    schema::DataplaneRequest ask;
    ask.set_get_counters(true);
    _exit(link.Call(ask).has_value() ? 1 : 0);  // 0: no answer, as it should be
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "another user got an answer from the dataplane";
  EXPECT_GE(Counter("rules_version"), 0) << "the dataplane still serves sbc-mgmtd";
}

TEST_F(SbcctlSshTest, AWrongSshKeyIsUnreachable) {
  const auto r = Sbcctl({"status"}, "ssh/stranger");
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("sbcctl: ssh to "));
}

}  // namespace
}  // namespace sbc::testing
