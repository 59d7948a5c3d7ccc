// sbc-sign on firmware as a release ceremony uses it: a manifest of a staged tree,
// signatures by a key file and by a key that never leaves a PKCS#11 token (SoftHSM),
// the image packed, verified against a trust root whose FIRMWARE threshold needs both.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/run_process.h"
#include "support/temp_dir.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;

constexpr char kSoftHsm[] = "/usr/lib/softhsm/libsofthsm2.so";

class SbcSignFirmwareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kSoftHsm, R_OK), 0) << "softhsm2 is not installed (tools/setup)";
    fs::create_directories(P("tokens"));
    std::ofstream(P("softhsm2.conf")) << "directories.tokendir = " << P("tokens")
                                      << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    setenv("SOFTHSM2_CONF", P("softhsm2.conf").c_str(), 1);
    unsetenv("SBC_PKCS11_PIN");
    const ProcessResult token =
        RunProcess({"/usr/bin/softhsm2-util", "--init-token", "--free", "--label", "release",
                    "--pin", "1234", "--so-pin", "5678"});
    ASSERT_EQ(token.exit_code, 0) << token.err;
    // The key is generated inside the token (the ceremony); only its public half leaves.
    const ProcessResult key = RunProcess(
        {"/usr/bin/pkcs11-tool", "--module", kSoftHsm, "--token-label", "release", "--login",
         "--pin", "1234", "--keypairgen", "--key-type", "EC:prime256v1", "--label", "fw1"});
    ASSERT_EQ(key.exit_code, 0) << key.err;

    fs::create_directories(P("root/bin"));
    std::ofstream(P("root/bin/sbc-tool")) << "#!/bin/sh\necho v1\n";
    fs::permissions(P("root/bin/sbc-tool"), fs::perms(0755));
    std::ofstream(P("root/defaults.textproto")) << "# defaults\n";
    fs::permissions(P("root/defaults.textproto"), fs::perms(0644));
  }

  ProcessResult Sign(std::vector<std::string> args, const std::string& input = "") const {
    args.insert(args.begin(), SBC_SIGN_BIN);
    return RunProcessWithInput(args, input);
  }
  std::string P(const std::string& name) const { return (dir_.path() / name).string(); }
  static std::string Entry(const ProcessResult& printed) {
    return printed.out.substr(printed.out.find("keys {"));
  }

  // A trust root listing a CONFIG key, the file FIRMWARE key and the token's, with
  // FIRMWARE threshold `threshold`.
  void MakeTrustRoot(int threshold) {
    const ProcessResult config = Sign({"keygen", "--out", P("config.key")});
    const ProcessResult file_key = Sign({"keygen", "--role", "firmware", "--out", P("fw0.key")});
    const ProcessResult token_key =
        Sign({"keyinfo", "--pkcs11-module", kSoftHsm, "--token", "release", "--key-label", "fw1",
              "--owner", "release officer"},
             "1234\n");
    ASSERT_EQ(config.exit_code, 0) << config.err;
    ASSERT_EQ(file_key.exit_code, 0) << file_key.err;
    ASSERT_EQ(token_key.exit_code, 0) << token_key.err;
    EXPECT_THAT(token_key.out, HasSubstr("role: FIRMWARE"));
    std::ofstream(P("root.textproto"))
        << "environment: DEVELOPMENT\n"
        << Entry(config) << Entry(file_key) << Entry(token_key)
        << "thresholds { role: CONFIG threshold: 1 }\nthresholds { role: FIRMWARE threshold: "
        << threshold << " }\n";
  }

  ProcessResult Verify(const std::string& file, const std::string& board = "sim") const {
    return Sign({"verify", "--trust-root", P("root.textproto"), "--board", board, "--in", file});
  }

  ScopedTempDir dir_;
};

TEST_F(SbcSignFirmwareTest, AFileKeyAndATokenKeyTogetherMeetAThresholdOfTwo) {
  MakeTrustRoot(2);
  const ProcessResult manifest = Sign(
      {"manifest", "--root", P("root"), "--version", "7", "--version-name", "1.7.0",
       "--rollback-index", "3", "--board", "sim", "--environment", "development", "--out", P("m")});
  ASSERT_EQ(manifest.exit_code, 0) << manifest.err;
  ASSERT_EQ(Sign({"sign", "--key", P("fw0.key"), "--in", P("m")}).exit_code, 0);
  // The unsigned-by-the-token image does not meet the threshold.
  ASSERT_EQ(
      Sign({"image", "--root", P("root"), "--manifest", P("m"), "--out", P("one.img")}).exit_code,
      0);
  const ProcessResult one = Verify(P("one.img"));
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_THAT(one.err, HasSubstr("refused (signature): manifest signature refused "
                                 "(threshold_not_met): signed by 1 FIRMWARE key(s), the trust "
                                 "root requires 2"));

  setenv("SBC_PKCS11_PIN", "1234", 1);
  const ProcessResult token = Sign({"sign", "--pkcs11-module", kSoftHsm, "--token", "release",
                                    "--key-label", "fw1", "--in", P("m")});
  unsetenv("SBC_PKCS11_PIN");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_THAT(token.out, HasSubstr("(2 signature(s))"));
  ASSERT_EQ(
      Sign({"image", "--root", P("root"), "--manifest", P("m"), "--out", P("v.img")}).exit_code, 0);
  const ProcessResult verified = Verify(P("v.img"));
  ASSERT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out,
              HasSubstr("valid firmware image 1.7.0 (build 7, rollback index 3), 2 files"));
  const ProcessResult inspected = Sign({"inspect", "--in", P("v.img")});
  EXPECT_THAT(inspected.out, HasSubstr("0755"));
  EXPECT_THAT(inspected.out, HasSubstr("bin/sbc-tool"));

  // The same image on another board, or with a newer committed index, is refused.
  const ProcessResult board = Verify(P("v.img"), "rack-1u-e810");
  EXPECT_EQ(board.exit_code, 1);
  EXPECT_THAT(board.err, HasSubstr("refused (wrong_board)"));
  const ProcessResult index = Sign({"verify", "--trust-root", P("root.textproto"), "--board", "sim",
                                    "--min-rollback-index", "4", "--in", P("v.img")});
  EXPECT_EQ(index.exit_code, 1);
  EXPECT_THAT(index.err, HasSubstr("refused (rollback_index_too_low)"));
}

TEST_F(SbcSignFirmwareTest, AWrongPinOrAMissingKeyIsNamedAndNothingIsSigned) {
  MakeTrustRoot(1);
  ASSERT_EQ(Sign({"manifest", "--root", P("root"), "--version", "1", "--version-name", "1.0.0",
                  "--rollback-index", "1", "--board", "sim", "--environment", "development",
                  "--out", P("m")})
                .exit_code,
            0);
  std::ifstream before_file(P("m"), std::ios::binary);
  std::stringstream before;
  before << before_file.rdbuf();

  const ProcessResult pin = Sign({"sign", "--pkcs11-module", kSoftHsm, "--token", "release",
                                  "--key-label", "fw1", "--in", P("m")},
                                 "0000\n");
  EXPECT_EQ(pin.exit_code, 2);
  EXPECT_THAT(pin.err, HasSubstr("token release: token PIN is incorrect"));
  const ProcessResult label = Sign({"sign", "--pkcs11-module", kSoftHsm, "--token", "release",
                                    "--key-label", "fw9", "--in", P("m")},
                                   "1234\n");
  EXPECT_EQ(label.exit_code, 2);
  EXPECT_THAT(label.err, HasSubstr("no private key labelled \"fw9\""));
  const ProcessResult token = Sign({"sign", "--pkcs11-module", kSoftHsm, "--token", "other",
                                    "--key-label", "fw1", "--in", P("m")},
                                   "1234\n");
  EXPECT_THAT(token.err, HasSubstr("no PKCS#11 token labelled \"other\""));

  std::ifstream after_file(P("m"), std::ios::binary);
  std::stringstream after;
  after << after_file.rdbuf();
  EXPECT_EQ(before.str(), after.str());
  const ProcessResult unsigned_manifest = Verify(P("m"));
  EXPECT_THAT(unsigned_manifest.err, HasSubstr("(unsigned)"));
}

}  // namespace
}  // namespace sbc::testing
