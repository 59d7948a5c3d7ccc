// sbc-mgmtd's key store: development provisioning, and KEY_ROTATE of the TLS server
// credential, including a crash at each point of a rotation: whatever the moment, the
// next start finds a certificate and a key that belong together.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "key_store.h"
#include "sbc/mgmt/base/atomic_file.h"

namespace sbc::firmware::mgmtd {
namespace {

namespace fs = std::filesystem;

class KeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sbc-keys-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(ProvisionDevelopment(dir_ / "keys", "admin", dir_ / "client").has_value());
    auto ca_key = mgmt::base::ReadFile(dir_ / "keys" / kCaKey);
    auto ca_cert = mgmt::base::ReadFile(dir_ / "keys" / kCaCert);
    ASSERT_TRUE(ca_key && ca_cert);
    auto ca = mgmt::pki::CertificateAuthority::Load({*ca_cert, *ca_key});
    ASSERT_TRUE(ca.has_value()) << ca.error();
    ca_ = std::move(*ca);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Keys() const { return dir_ / "keys"; }
  std::string Read(const char* name) const {
    return mgmt::base::ReadFile(Keys() / name).value_or("");
  }
  void Write(const char* name, const std::string& text) const {
    std::ofstream(Keys() / name) << text;
  }
  // What a restarted daemon would load.
  mgmt::pki::Credential LoadServer() const {
    auto files = LoadKeyStore(Keys());
    EXPECT_TRUE(files.has_value()) << files.error();
    if (!files) return {};
    EXPECT_TRUE(mgmt::pki::KeyMatchesCertificate(files->server.cert_pem, files->server.key_pem));
    EXPECT_FALSE(fs::exists(Keys() / kServerKeyNext));
    return files->server;
  }

  fs::path dir_;
  std::unique_ptr<mgmt::pki::CertificateAuthority> ca_;
};

TEST_F(KeyStoreTest, ARotationReplacesTheServerKeyAndCertificate) {
  const mgmt::pki::Credential before = LoadServer();
  auto rotated = RotateServerCredential(Keys(), *ca_);
  ASSERT_TRUE(rotated.has_value()) << rotated.error();
  EXPECT_NE(*mgmt::pki::KeyFingerprint(rotated->cert_pem),
            *mgmt::pki::KeyFingerprint(before.cert_pem));
  const mgmt::pki::Credential after = LoadServer();
  EXPECT_EQ(after.cert_pem, rotated->cert_pem);
  EXPECT_EQ(after.key_pem, rotated->key_pem);
  struct stat st {};
  ASSERT_EQ(stat((Keys() / kServerKey).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the new private key is readable by others";
}

TEST_F(KeyStoreTest, ACrashBeforeTheCertificateWasReplacedKeepsTheOldPair) {
  const mgmt::pki::Credential before = LoadServer();
  const auto fresh = ca_->Issue("sbc-mgmtd", mgmt::pki::Purpose::kServer);
  ASSERT_TRUE(fresh.has_value());
  Write(kServerKeyNext, fresh->key_pem);  // step 1 done, then the power went
  const mgmt::pki::Credential after = LoadServer();
  EXPECT_EQ(after.cert_pem, before.cert_pem);
  EXPECT_EQ(after.key_pem, before.key_pem);
}

TEST_F(KeyStoreTest, ACrashAfterTheCertificateWasReplacedFinishesTheRotation) {
  const auto fresh = ca_->Issue("sbc-mgmtd", mgmt::pki::Purpose::kServer);
  ASSERT_TRUE(fresh.has_value());
  Write(kServerKeyNext, fresh->key_pem);  // step 1
  Write(kServerCert, fresh->cert_pem);    // step 2, then the power went
  const mgmt::pki::Credential after = LoadServer();
  EXPECT_EQ(after.cert_pem, fresh->cert_pem);
  EXPECT_EQ(after.key_pem, fresh->key_pem);
}

TEST_F(KeyStoreTest, AHalfMadeKeyFromAnEarlierFailureDoesNotBlockTheNextRotation) {
  Write(kServerKeyNext, "left over");
  auto rotated = RotateServerCredential(Keys(), *ca_);
  ASSERT_TRUE(rotated.has_value()) << rotated.error();
  EXPECT_EQ(LoadServer().cert_pem, rotated->cert_pem);
}

TEST_F(KeyStoreTest, UsersAreWrittenOwnerOnlyAndReadBack) {
  schema::UserDirectory users = LoadKeyStore(Keys())->users;
  users.mutable_users(0)->set_locked_until_unix(1234);
  ASSERT_TRUE(WriteUsers(Keys(), users).has_value());
  EXPECT_EQ(LoadKeyStore(Keys())->users.users(0).locked_until_unix(), 1234);
  struct stat st {};
  ASSERT_EQ(stat((Keys() / kUsers).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "password hashes readable by others";
}

}  // namespace
}  // namespace sbc::firmware::mgmtd
