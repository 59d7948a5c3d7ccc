#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sbc/mgmt/trust/keys.h"

namespace sbc::mgmt::trust {
namespace {

using ::testing::HasSubstr;

// A fresh directory for one test, removed when it goes out of scope.
struct TempDir {
  TempDir()
      : path(std::filesystem::temp_directory_path() /
             ("sbc-keys-test-" + std::to_string(getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  std::filesystem::path path;
};

TEST(KeysTest, SignaturesVerifyOnBothCurvesAndOnlyForTheirMessage) {
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    auto key = PrivateKey::Generate(curve);
    ASSERT_TRUE(key.has_value()) << key.error();
    auto pub = PublicKey::Parse(key->PublicKeyPem());
    ASSERT_TRUE(pub.has_value()) << pub.error();
    EXPECT_EQ(pub->KeyId(), key->KeyId());
    EXPECT_EQ(pub->KeyId().size(), 64u);
    auto sig = key->Sign("payload");
    ASSERT_TRUE(sig.has_value());
    EXPECT_TRUE(pub->Verify("payload", *sig));
    EXPECT_FALSE(pub->Verify("payload!", *sig));
    std::string bad = *sig;
    bad[bad.size() / 2] ^= 1;
    EXPECT_FALSE(pub->Verify("payload", bad));
  }
}

TEST(KeysTest, SavedKeyIsPrivateAndLoadsBack) {
  const TempDir dir;
  auto key = PrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key->Save(dir / "k.pem").has_value());
  struct stat st {};
  ASSERT_EQ(stat((dir / "k.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = PrivateKey::Load(dir / "k.pem");
  ASSERT_TRUE(loaded.has_value()) << loaded.error();
  EXPECT_EQ(loaded->KeyId(), key->KeyId());
  EXPECT_FALSE(key->Save(dir / "k.pem").has_value()) << "overwrote an existing key";
}

TEST(KeysTest, RefusesAKeyOthersCanRead) {
  const TempDir dir;
  auto key = PrivateKey::Generate(Curve::kP256);
  ASSERT_TRUE(key->Save(dir / "k.pem").has_value());
  chmod((dir / "k.pem").c_str(), 0644);
  auto loaded = PrivateKey::Load(dir / "k.pem");
  ASSERT_FALSE(loaded.has_value());
  EXPECT_THAT(loaded.error(), HasSubstr("mode 0644 lets others read it; refusing"));
}

TEST(KeysTest, RefusesGarbageKeys) {
  EXPECT_FALSE(PublicKey::Parse("not a key").has_value());
  const TempDir dir;
  std::ofstream(dir / "junk.pem")
      << "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
  chmod((dir / "junk.pem").c_str(), 0600);
  auto loaded = PrivateKey::Load(dir / "junk.pem");
  ASSERT_FALSE(loaded.has_value());
  EXPECT_THAT(loaded.error(), HasSubstr("mbedTLS error"));
}

}  // namespace
}  // namespace sbc::mgmt::trust
