// Files written crash-safely (the kill-at-every-step tests are the store's, in
// tests/mgmt/store/crash_safety_test.cc, since the store is what must stay valid),
// and mbedTLS errors as text.
#include "sbc/mgmt/base/atomic_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mbedtls/pk.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sbc/mgmt/base/mbedtls_error.h"

namespace sbc::mgmt::base {
namespace {

using ::testing::HasSubstr;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  const std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("sbc-atomic-" + std::to_string(getpid()));
};

// A link planted where a write puts its temp file does not get written through: the
// file it points to stays as it was, and the target is a file of the writer's own.
TEST_F(AtomicFileTest, ALinkPlantedAsTheTempFileIsNotFollowed) {
  std::ofstream(dir_ / "victim") << "precious";
  std::filesystem::create_symlink(dir_ / "victim", dir_ / "state.pb.tmp");
  ASSERT_TRUE(WriteFileAtomically(dir_, "state.pb", "new state").has_value());
  EXPECT_EQ(*ReadFile(dir_ / "victim"), "precious");
  EXPECT_EQ(*ReadFile(dir_ / "state.pb"), "new state");
  EXPECT_FALSE(std::filesystem::is_symlink(dir_ / "state.pb"));
}

TEST_F(AtomicFileTest, AWriteReplacesTheFileAndLeavesNoTempFile) {
  ASSERT_TRUE(WriteFileAtomically(dir_, "head", "one").has_value());
  ASSERT_TRUE(WriteFileAtomically(dir_, "head", "two").has_value());
  EXPECT_EQ(*ReadFile(dir_ / "head"), "two");
  EXPECT_EQ(RemoveTempFiles(dir_), 0u);
}

TEST_F(AtomicFileTest, ACrashResidueIsRemovedAndAMissingFileIsNamed) {
  std::ofstream(dir_ / "state.pb.tmp") << "half";
  EXPECT_EQ(RemoveTempFiles(dir_), 1u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state.pb.tmp"));
  const auto missing = ReadFile(dir_ / "absent");
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error(), HasSubstr("absent"));
}

TEST(MbedtlsErrorTest, KeepsTheNumericCodeBesideTheText) {
  EXPECT_EQ(MbedtlsError(MBEDTLS_ERR_PK_KEY_INVALID_FORMAT),
            "mbedTLS error -0x3d00: PK - Invalid key tag or value");
}

}  // namespace
}  // namespace sbc::mgmt::base
