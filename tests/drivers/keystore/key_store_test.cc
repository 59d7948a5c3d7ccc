// The file-backed key store's anti-rollback index: it only goes up, and damage is an
// error, never a zero that would let every old image in.
#include "sbc/drivers/key_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/temp_dir.h"

namespace sbc::drivers {
namespace {

using ::testing::HasSubstr;

class KeyStoreTest : public ::testing::Test {
 protected:
  KeyStoreTest() { chmod(dir_.path().c_str(), 0700); }
  std::unique_ptr<KeyStore> Open() {
    auto store = OpenFileKeyStore(dir_.path());
    EXPECT_TRUE(store.has_value()) << store.error();
    return store ? std::move(*store) : nullptr;
  }
  testing::ScopedTempDir dir_;
};

TEST_F(KeyStoreTest, TheIndexStartsAtZeroAndOnlyGoesUp) {
  auto store = Open();
  EXPECT_EQ(store->FirmwareRollbackIndex().value(), 0u);
  ASSERT_TRUE(store->RaiseFirmwareRollbackIndex(3).has_value());
  ASSERT_TRUE(store->RaiseFirmwareRollbackIndex(3).has_value());  // equal: no-op
  auto lower = store->RaiseFirmwareRollbackIndex(2);
  ASSERT_FALSE(lower.has_value());
  EXPECT_THAT(lower.error(), HasSubstr("index 2 is below the committed 3"));
  // Another process (a reopened store) sees what was written.
  EXPECT_EQ(Open()->FirmwareRollbackIndex().value(), 3u);
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() / kRollbackIndexFile).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyStoreTest, ADamagedIndexIsAnErrorNotZero) {
  for (const char* damage : {"", "abc\n", "3x\n", "-1\n", "18446744073709551616\n"}) {
    std::ofstream(dir_.path() / kRollbackIndexFile, std::ios::trunc) << damage;
    auto index = Open()->FirmwareRollbackIndex();
    ASSERT_FALSE(index.has_value()) << '"' << damage << '"';
    EXPECT_THAT(index.error(), HasSubstr("damaged key store"));
    EXPECT_FALSE(Open()->RaiseFirmwareRollbackIndex(1).has_value());
  }
}

TEST_F(KeyStoreTest, AKeyStoreOthersMayWriteIsRefused) {
  chmod(dir_.path().c_str(), 0777);
  auto store = OpenFileKeyStore(dir_.path());
  ASSERT_FALSE(store.has_value());
  EXPECT_THAT(store.error(), HasSubstr("group or others may write it"));
  EXPECT_FALSE(OpenFileKeyStore(dir_.path() / "missing").has_value());
}

}  // namespace
}  // namespace sbc::drivers
