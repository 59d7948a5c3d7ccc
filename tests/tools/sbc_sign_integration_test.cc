// sbc-sign as signers use it: keygen, bundle, sign in turn, verify, inspect; refusals
// of loose key files, invalid configs and tampered bundles.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/run_process.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;

class SbcSignTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("sbc-sign-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProcessResult Sign(std::vector<std::string> args) {
    args.insert(args.begin(), SBC_SIGN_BIN);
    return RunProcess(args);
  }
  std::string P(const std::string& name) const { return (dir_ / name).string(); }

  // Generates `n` keys and a trust root (development) needing `threshold` of them.
  void MakeTrustRoot(int n, int threshold) {
    std::ostringstream root;
    root << "environment: DEVELOPMENT\n";
    for (int i = 0; i < n; ++i) {
      const auto r = Sign({"keygen", "--out", P("k" + std::to_string(i) + ".pem")});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      root << r.out.substr(r.out.find("keys {"));
    }
    root << "thresholds { role: CONFIG threshold: " << threshold << " }\n";
    std::ofstream(P("root.textproto")) << root.str();
  }

  ProcessResult MakeBundle(const std::string& out, const std::string& expires = "+30d") {
    return Sign({"bundle", "--config",
                 std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.textproto", "--version",
                 "3", "--environment", "development", "--expires", expires, "--out", P(out)});
  }

  std::filesystem::path dir_;
};

TEST_F(SbcSignTest, KeygenWritesAPrivateKeyAndAPastableTrustRootEntry) {
  const auto r =
      Sign({"keygen", "--out", P("k.pem"), "--curve", "p384", "--public-out", P("k.pub")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(stat(P("k.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("key_id: \"[0-9a-f]{64}\"")));
  EXPECT_THAT(r.out, HasSubstr("role: CONFIG"));
  EXPECT_TRUE(std::filesystem::exists(P("k.pub")));
  EXPECT_EQ(Sign({"keygen", "--out", P("k.pem")}).exit_code, 2) << "overwrote a key";
}

TEST_F(SbcSignTest, TwoSignersInTurnMeetAThresholdOfTwo) {
  MakeTrustRoot(3, 2);
  ASSERT_EQ(MakeBundle("b.bundle").exit_code, 0);
  ASSERT_EQ(Sign({"sign", "--key", P("k0.pem"), "--in", P("b.bundle")}).exit_code, 0);
  auto one = Sign({"verify", "--trust-root", P("root.textproto"), "--in", P("b.bundle")});
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_THAT(one.err, HasSubstr("refused (threshold_not_met)"));
  ASSERT_EQ(Sign({"sign", "--key", P("k2.pem"), "--in", P("b.bundle")}).exit_code, 0);
  auto two = Sign({"verify", "--trust-root", P("root.textproto"), "--in", P("b.bundle")});
  EXPECT_EQ(two.exit_code, 0) << two.err;
  EXPECT_THAT(two.out, HasSubstr("valid config bundle, version 3, 5 rules, signed by 2 key(s)"));
  auto again = Sign({"sign", "--key", P("k2.pem"), "--in", P("b.bundle")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already signed by key"));
}

TEST_F(SbcSignTest, RefusesAWorldReadableKey) {
  MakeTrustRoot(1, 1);
  ASSERT_EQ(MakeBundle("b.bundle").exit_code, 0);
  chmod(P("k0.pem").c_str(), 0644);
  auto r = Sign({"sign", "--key", P("k0.pem"), "--in", P("b.bundle")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("mode 0644 lets others read it; refusing"));
}

TEST_F(SbcSignTest, RefusesToBundleAnInvalidConfigNamingEveryError) {
  std::ofstream(P("bad.textproto"))
      << "zones { name: \"a\" }\nrules { name: \"r\" from_zone: \"a\" to_zone: \"b\" protocol: UDP "
         "dst_ports: \"7000-6000\" }\n";
  auto r = Sign({"bundle", "--config", P("bad.textproto"), "--version", "1", "--environment",
                 "development", "--expires", "+1d", "--out", P("b.bundle")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("rules[0].to_zone: no zone named \"b\""));
  EXPECT_THAT(r.err, HasSubstr("rules[0].dst_ports[0]: range 7000-6000 is empty"));
  EXPECT_FALSE(std::filesystem::exists(P("b.bundle")));
}

TEST_F(SbcSignTest, RefusesPastExpiryAndUnknownEnvironment) {
  EXPECT_THAT(MakeBundle("b.bundle", "2001-01-01T00:00:00Z").err,
              HasSubstr("--expires is in the past"));
  auto r =
      Sign({"bundle", "--config", std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.textproto",
            "--version", "1", "--environment", "prod", "--expires", "+1d", "--out", P("b")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("environment \"prod\" is not one of"));
}

TEST_F(SbcSignTest, VerifyRefusesATamperedBundle) {
  MakeTrustRoot(1, 1);
  ASSERT_EQ(MakeBundle("b.bundle").exit_code, 0);
  ASSERT_EQ(Sign({"sign", "--key", P("k0.pem"), "--in", P("b.bundle")}).exit_code, 0);
  std::fstream f(P("b.bundle"), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  f.put('Z');
  f.close();
  auto r = Sign({"verify", "--trust-root", P("root.textproto"), "--in", P("b.bundle")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("refused (bad_signature)"));
}

TEST_F(SbcSignTest, InspectShowsMetaSignersAndConfig) {
  MakeTrustRoot(1, 1);
  ASSERT_EQ(MakeBundle("b.bundle").exit_code, 0);
  ASSERT_EQ(Sign({"sign", "--key", P("k0.pem"), "--in", P("b.bundle")}).exit_code, 0);
  auto r = Sign({"inspect", "--in", P("b.bundle")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("payload type: application/vnd.sbc.config-bundle.v1+protobuf"));
  EXPECT_THAT(r.out, HasSubstr("version:      3"));
  EXPECT_THAT(r.out, HasSubstr("environment:  DEVELOPMENT"));
  EXPECT_THAT(r.out, HasSubstr("name: \"carrier-sip\""));
}

TEST_F(SbcSignTest, DowngradeAuthorisationVerifies) {
  MakeTrustRoot(1, 1);
  ASSERT_EQ(Sign({"downgrade", "--version", "2", "--environment", "development", "--expires", "+1d",
                  "--reason", "bad rule in v3", "--out", P("d")})
                .exit_code,
            0);
  ASSERT_EQ(Sign({"sign", "--key", P("k0.pem"), "--in", P("d")}).exit_code, 0);
  auto r = Sign({"verify", "--trust-root", P("root.textproto"), "--in", P("d")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("valid downgrade authorisation for version 2"));
}

TEST_F(SbcSignTest, TheShippedDemoBundleVerifiesAgainstTheSimTrustRoot) {
  auto r = Sign({"verify", "--trust-root",
                 std::string(SBC_SOURCE_DIR) + "/board/sim/trust-root.textproto", "--in",
                 std::string(SBC_SOURCE_DIR) + "/docs/examples/sim-demo.bundle"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace
}  // namespace sbc::testing
