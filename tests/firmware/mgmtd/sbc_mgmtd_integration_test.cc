// sbc-mgmtd and sbcctl as built, on the sim board, without the SSH tunnel (that is
// sbcctl_ssh_e2e_test): console break-glass logins with passwords set over the API,
// the sim board's own clock, and rotation of the daemon's TLS key, each followed
// through a restart of the daemon and into the audit log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "support/run_process.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class SbcMgmtdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sbc-mgmtd-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "keys");
    for (const char* f : {"trust-root.textproto", "identity.textproto"})
      fs::copy_file(std::string(SBC_SOURCE_DIR) + "/board/sim/" + f, dir_ / "keys" / f);
    const auto provisioned =
        RunProcess({SBC_MGMTD_BIN, "--board", Board(), "--data-dir", dir_.string(),
                    "--provision-dev", "admin", "--client-dir", P("client")});
    ASSERT_EQ(provisioned.exit_code, 0) << provisioned.err;
    StartMgmtd();
  }
  void TearDown() override {
    mgmtd_.reset();
    fs::remove_all(dir_);
  }
  void StartMgmtd() {
    mgmtd_.reset();
    mgmtd_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SBC_MGMTD_BIN, "--board", Board(), "--data-dir", dir_.string(),
                                 "--port", "0", "--dataplane-socket", "none"},
        P("mgmtd-" + std::to_string(++starts_) +
          ".log"));  // a new file: never the last run's lines
    const std::string log = mgmtd_->WaitForLog("control API on");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, std::regex("127\\.0\\.0\\.1:([0-9]+)"))) << log;
    port_ = m[1];
    ASSERT_THAT(log, HasSubstr("console login on " + P("run/console.sock")));
  }

  std::string P(const std::string& name) const { return (dir_ / name).string(); }
  std::string mgmt_file(const std::string& name) const {
    std::ifstream in(dir_ / "keys" / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static std::string Board() { return std::string(SBC_SOURCE_DIR) + "/board/sim.textproto"; }
  // sbcctl over TLS as the administrator; `input` goes to its stdin.
  ProcessResult Sbcctl(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {
        SBCCTL_BIN,           "--connect", "127.0.0.1:" + port_,  "--ca",
        P("client/ca.pem"),   "--cert",    P("client/admin.pem"), "--key",
        P("client/admin.key")};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcessWithInput(argv, input, 60);
  }
  // sbcctl on the console socket as `user`, the password on stdin.
  ProcessResult Console(const std::string& user, const std::string& password,
                        std::vector<std::string> args) {
    std::vector<std::string> argv = {SBCCTL_BIN, "--console", P("run/console.sock"), "--user",
                                     user};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcessWithInput(argv, password + "\n", 60);
  }

  fs::path dir_;
  std::unique_ptr<BackgroundProcess> mgmtd_;
  std::string port_;
  int starts_ = 0;
};

TEST_F(SbcMgmtdTest, BreakGlassOnTheConsoleWithAPasswordSetOverTheApi) {
  // No password yet: the console lets nobody in.
  auto r = Console("admin", "Correct-Horse-42", {"status"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("console login refused: wrong user name or password"));

  r = Sbcctl({"users", "set-password", "admin"}, "short\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("REFUSED: password policy: password shorter than 12 characters"));
  r = Sbcctl({"users", "set-password", "admin"}, "Correct-Horse-42\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Sbcctl({"users", "list"});
  EXPECT_THAT(r.out, HasSubstr("admin VIEWER,OPERATOR,AUDITOR,SECURITY_ADMIN (console password)"));
  EXPECT_THAT(fs::status(P("keys/users.textproto")).permissions() & fs::perms::others_read,
              fs::perms::none);

  // With certificates out of the picture, the console still manages the appliance,
  // with the user's roles.
  r = Console("admin", "Correct-Horse-42", {"users", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("admin VIEWER,OPERATOR,AUDITOR,SECURITY_ADMIN"));
  r = Console("admin", "Correct-Horse-43", {"status"});
  EXPECT_EQ(r.exit_code, 3);
  // A console password can be changed from the console itself (login, then the new one).
  r = RunProcessWithInput({SBCCTL_BIN, "--console", P("run/console.sock"), "--user", "admin",
                           "users", "set-password", "admin"},
                          "Correct-Horse-42\nBattery-Staple-77\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Console("admin", "Battery-Staple-77", {"status"}).exit_code, 0);
  EXPECT_EQ(Console("nobody", "Battery-Staple-77", {"status"}).exit_code, 3);

  // The logins, good and bad, are in the audit log, which verifies; no password is.
  r = Sbcctl({"audit", "show"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("admin CONSOLE_LOGIN OK  console login"));
  EXPECT_THAT(r.out, HasSubstr("admin CONSOLE_LOGIN DENIED  console login: wrong password"));
  EXPECT_THAT(r.out, HasSubstr("(unknown user) CONSOLE_LOGIN DENIED"));
  EXPECT_THAT(r.out, HasSubstr("admin USER_SET_PASSWORD OK  set the console password of admin"));
  EXPECT_THAT(r.out, HasSubstr("admin USER_LIST OK"));
  for (const char* secret : {"Correct-Horse-42", "Battery-Staple-77"}) {
    EXPECT_EQ(r.out.find(secret), std::string::npos);
    EXPECT_EQ(RunProcess({"/usr/bin/grep", "-r", secret, dir_.string()}).exit_code, 1)
        << secret << " on disk";
  }
  EXPECT_EQ(Sbcctl({"audit", "verify"}).exit_code, 0);
}

TEST_F(SbcMgmtdTest, TheSimBoardsClockIsSetWithoutTouchingTheHostsAndSurvivesARestart) {
  auto r = Sbcctl({"clock", "set", "2031-03-04T05:06:07Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("appliance time 2031-03-04T05:06"));
  EXPECT_LT(::time(nullptr), 1'900'000'000) << "the host's clock moved";
  StartMgmtd();
  r = Sbcctl({"status"});
  EXPECT_THAT(r.out, HasSubstr("appliance time 2031-03-04T05:06"));
  r = Sbcctl({"clock", "set", "next tuesday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not a UTC time like"));
  r = Sbcctl({"clock", "set", "2019-01-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is outside 2024-01-01"));
  r = Sbcctl({"audit", "show"});
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("admin CLOCK_SET OK  clock set from 20[0-9-]+T[0-9:.]+Z to "
                                       "2031-03-04T05:06:07.000Z"));
}

TEST_F(SbcMgmtdTest, TheControlApisKeyIsRotatedAndServedAtOnceAndAfterARestart) {
  const std::string old_cert = mgmt_file("mgmtd.pem");
  auto r = Sbcctl({"keys", "rotate", "mgmtd-tls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex(
                         "rotated mgmtd-tls: key sha256:[0-9a-f]{16} -> sha256:[0-9a-f]{16}\n"));
  EXPECT_NE(mgmt_file("mgmtd.pem"), old_cert);
  EXPECT_FALSE(fs::exists(dir_ / "keys/mgmtd.key.next"));
  // New connections get the new certificate, which clients verify as before.
  EXPECT_EQ(Sbcctl({"status"}).exit_code, 0);
  StartMgmtd();
  EXPECT_EQ(Sbcctl({"status"}).exit_code, 0);
  r = Sbcctl({"keys", "rotate", "no-such-key"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("no key \"no-such-key\" to rotate; this appliance rotates: mgmtd-tls"));
  r = Sbcctl({"audit", "show"});
  EXPECT_THAT(r.out,
              ::testing::ContainsRegex("admin KEY_ROTATE OK  rotated mgmtd-tls: key sha256:"));
}

// Whoever kept the old server key cannot pose as the appliance to an operator whose
// sbcctl has met the rotated one: it remembers the newest server certificate it saw.
TEST_F(SbcMgmtdTest, TheOldServerKeyIsRefusedOnceTheRotatedOneWasSeen) {
  ASSERT_EQ(Sbcctl({"status"}).exit_code, 0);
  const std::string old_cert = mgmt_file("mgmtd.pem"), old_key = mgmt_file("mgmtd.key");
  ASSERT_EQ(Sbcctl({"keys", "rotate", "mgmtd-tls"}).exit_code, 0);
  ASSERT_EQ(Sbcctl({"status"}).exit_code, 0) << "the rotated certificate, seen";
  mgmtd_.reset();
  std::ofstream(dir_ / "keys/mgmtd.pem", std::ios::trunc)
      << old_cert;  // an impostor with the old pair
  std::ofstream(dir_ / "keys/mgmtd.key", std::ios::trunc) << old_key;
  StartMgmtd();
  const auto r = Sbcctl({"status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("older than one it presented before"));
}

// Neither daemon can leave its keys in a core file, nor let another process of its
// user read its memory.
TEST_F(SbcMgmtdTest, TheDaemonDumpsNoCore) {
  std::ifstream limits("/proc/" + std::to_string(mgmtd_->pid()) + "/limits");
  const std::string text((std::istreambuf_iterator<char>(limits)), {});
  EXPECT_THAT(text, ::testing::ContainsRegex("Max core file size +0 +0 +bytes"));
}

// A --connect address sbcctl cannot use is a usage error (exit 2) that says what is
// wrong with it, before any file is read or any connection tried (it threw before).
TEST(SbcctlAddressTest, AnAddressItCannotUseIsAUsageErrorThatSaysWhy) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"127.0.0.1", "no port"},
      {"appliance:", "is not a number from 1 to 65535"},
      {"appliance:https", "is not a number from 1 to 65535"},
      {"appliance:70000", "is not a number from 1 to 65535"},
      {"appliance:0", "is not a number from 1 to 65535"},
      {":4443", "no host"},
      {"::1:4443", "needs brackets"},
      {"[::1", "is not closed"},
      {"[::1]", "no port"},
  };
  for (const auto& [address, why] : cases) {
    // Files that can be read (what they hold does not matter: the address comes first).
    const ProcessResult r = RunProcess({SBCCTL_BIN, "--connect", address, "--ca", SBCCTL_BIN,
                                        "--cert", SBCCTL_BIN, "--key", SBCCTL_BIN, "status"});
    EXPECT_EQ(r.exit_code, 2) << address << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("--connect " + address + ": ")) << address;
    EXPECT_THAT(r.err, HasSubstr(why)) << address;
  }
}

}  // namespace
}  // namespace sbc::testing
