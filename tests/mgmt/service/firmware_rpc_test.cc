// The firmware RPCs' side in sbc-mgmtd: an image uploaded in chunks, staged on disk so
// that an upload resumes after a lost connection or a restart, its bytes checked against
// the SHA-256 announced, then handed to sbc-boot (here a fake that records what it is
// asked) for the install; every step audited.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sbc/mgmt/audit/audit_log.h"
#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/image/digest.h"
#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/store/config_store.h"
#include "support/signing.h"
#include "support/temp_dir.h"

namespace sbc::mgmt::service {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// sbc-boot as the service sees it: installs read the staged file; replies are scripted.
class FakeBoot final : public BootLink {
 public:
  std::expected<schema::BootResponse, std::string> Call(
      const schema::BootRequest& request) override {
    requests.push_back(request);
    if (unreachable) return std::unexpected(std::string("sbc-boot unreachable: no socket"));
    schema::BootResponse response;
    if (request.has_install()) {
      std::ifstream in(request.install(), std::ios::binary);
      installed.assign(std::istreambuf_iterator<char>(in), {});
      if (!refusal.empty()) {
        response.set_error(refusal);
        return response;
      }
      response.set_detail("installed image v2 (build 2, rollback index 2) to slot B");
    }
    response.set_ok(true);
    response.mutable_status()->set_booted("A");
    return response;
  }

  std::vector<schema::BootRequest> requests;
  std::string installed;
  std::string refusal;
  bool unreachable = false;
};

class FirmwareRpcTest : public ::testing::Test {
 protected:
  FirmwareRpcTest() : signers_(1, 1) {
    auto clock = clock::OffsetFileClock(dir_.path() / "clock-offset");
    if (!clock) throw std::runtime_error(clock.error());
    clock_ = std::move(*clock);
    auto verifier = trust::Verifier::Create(signers_.root(), signers_.Identity("SN-1"));
    if (!verifier) throw std::runtime_error("verifier");
    verifier_.emplace(std::move(*verifier));
    auto store = store::ConfigStore::Open(dir_.path() / "config", *verifier_, *clock_, {});
    if (!store) throw std::runtime_error(store.error());
    store_ = std::move(*store);
    auto audit = audit::AuditLog::Open(dir_.path() / "audit");
    if (!audit) throw std::runtime_error(audit.error());
    audit_ = std::move(*audit);
    Restart();
    // An "image" of three and a bit chunks: the service checks only its digest.
    for (int i = 0; i < 3 * 1024 + 100; ++i) image_ += static_cast<char>('a' + i % 26);
    sha256_ = image::Sha256(image_);
  }

  // sbc-mgmtd started again, on the same upload directory.
  void Restart() {
    schema::UserDirectory users;
    schema::User* admin = users.add_users();
    admin->set_name("sam-secadmin");
    admin->add_roles(schema::SECURITY_ADMIN);
    service_ = std::make_unique<ControlService>(users, *store_, *audit_,
                                                (dir_.path() / "audit").string(), *clock_);
    service_->AttachFirmware(&boot_, upload_dir());
  }

  fs::path upload_dir() const { return dir_.path() / "firmware-upload"; }

  schema::Response Chunk(uint64_t offset, uint64_t length) {
    schema::Request request;
    schema::FirmwareUpload* upload = request.mutable_firmware_upload();
    upload->set_image_sha256(sha256_);
    upload->set_image_size(image_.size());
    upload->set_offset(offset);
    upload->set_data(image_.substr(offset, length));
    return Handle(request);
  }

  schema::Response Handle(const schema::Request& request) {
    return service_->Handle({.name = "sam-secadmin", .console = true}, request);
  }

  schema::Response Status() {
    schema::Request request;
    (void)request.mutable_firmware_status();
    return Handle(request);
  }

  std::vector<schema::AuditEntry> AuditEntries() const {
    auto entries = audit::ReadAll(dir_.path() / "audit");
    if (!entries) throw std::runtime_error(entries.error());
    return *entries;
  }

  testing::ScopedTempDir dir_;
  testing::TestSigners signers_;
  std::unique_ptr<clock::SettableClock> clock_;
  std::optional<trust::Verifier> verifier_;
  std::unique_ptr<store::ConfigStore> store_;
  std::unique_ptr<audit::AuditLog> audit_;
  FakeBoot boot_;
  std::unique_ptr<ControlService> service_;
  std::string image_, sha256_;
};

TEST_F(FirmwareRpcTest, AnUploadResumesAfterARestartAndItsLastChunkInstallsTheImage) {
  ASSERT_EQ(Chunk(0, 1024).outcome(), schema::OK);
  const schema::Response second = Chunk(1024, 1024);
  ASSERT_EQ(second.outcome(), schema::OK) << second.error();
  EXPECT_EQ(second.firmware_upload_offset(), 2048u);

  Restart();
  const schema::Response status = Status();
  ASSERT_EQ(status.outcome(), schema::OK) << status.error();
  EXPECT_EQ(status.firmware_upload_offset(), 2048u);
  EXPECT_EQ(status.firmware_upload_sha256(), sha256_);
  EXPECT_EQ(status.firmware_upload_size(), image_.size());

  // A chunk from elsewhere than the resume point is refused, saying where to resume.
  const schema::Response skipped = Chunk(3072, 1024);
  EXPECT_EQ(skipped.outcome(), schema::REFUSED);
  EXPECT_THAT(skipped.error(), HasSubstr("resume at byte 2048, not 3072"));
  EXPECT_EQ(skipped.firmware_upload_offset(), 2048u);
  EXPECT_TRUE(boot_.installed.empty());

  ASSERT_EQ(Chunk(2048, 1024).outcome(), schema::OK);
  const schema::Response last = Chunk(3072, 100);
  ASSERT_EQ(last.outcome(), schema::OK) << last.error();
  EXPECT_EQ(boot_.installed, image_);
  EXPECT_THAT(last.text(), HasSubstr("installed image v2"));
  EXPECT_FALSE(fs::exists(upload_dir() / "upload.img"));
  EXPECT_EQ(Status().firmware_upload_size(), 0u);  // nothing held any more

  const std::vector<schema::AuditEntry> entries = AuditEntries();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.back().rpc(), schema::FIRMWARE_STATUS);
  const schema::AuditEntry& install = entries[entries.size() - 2];
  EXPECT_EQ(install.rpc(), schema::FIRMWARE_UPLOAD);
  EXPECT_EQ(install.outcome(), schema::OK);
  EXPECT_THAT(install.detail(), HasSubstr("installed image v2 (build 2, rollback index 2)"));
}

TEST_F(FirmwareRpcTest, BytesThatAreNotTheImageAnnouncedAreRefusedAndNeverInstalled) {
  image_[500] ^= 1;  // the bytes sent differ from those the SHA-256 announced
  ASSERT_EQ(Chunk(0, 1024).outcome(), schema::OK);
  ASSERT_EQ(Chunk(1024, 1024).outcome(), schema::OK);
  ASSERT_EQ(Chunk(2048, 1024).outcome(), schema::OK);
  const schema::Response last = Chunk(3072, 100);
  EXPECT_EQ(last.outcome(), schema::REFUSED);
  EXPECT_THAT(last.error(), HasSubstr("not the sha256:"));
  EXPECT_THAT(last.error(), HasSubstr("upload it again"));
  EXPECT_TRUE(boot_.requests.empty());
  EXPECT_FALSE(fs::exists(upload_dir() / "upload.img"));
}

TEST_F(FirmwareRpcTest, AnImageSbcBootRefusesIsRefusedWithItsReason) {
  boot_.refusal = "install refused (signature): threshold not met; slot B untouched";
  ASSERT_EQ(Chunk(0, 2048).outcome(), schema::OK);
  const schema::Response last = Chunk(2048, image_.size() - 2048);
  EXPECT_EQ(last.outcome(), schema::REFUSED);
  EXPECT_EQ(last.error(), boot_.refusal);
  EXPECT_EQ(AuditEntries().back().detail(), boot_.refusal);
  EXPECT_FALSE(fs::exists(upload_dir() / "upload.img"));
}

TEST_F(FirmwareRpcTest, WhenSbcBootIsUnreachableTheUploadIsKeptForTheLastChunkAgain) {
  boot_.unreachable = true;
  ASSERT_EQ(Chunk(0, 1024).outcome(), schema::OK);
  const schema::Response last = Chunk(1024, image_.size() - 1024);
  EXPECT_EQ(last.outcome(), schema::FAILED);
  EXPECT_THAT(last.error(), HasSubstr("sbc-boot unreachable"));
  EXPECT_EQ(last.firmware_upload_offset(), image_.size());

  boot_.unreachable = false;
  // All of it held: an empty chunk at the end installs it.
  const schema::Response again = Chunk(image_.size(), 0);
  ASSERT_EQ(again.outcome(), schema::OK) << again.error();
  EXPECT_EQ(boot_.installed, image_);
}

TEST_F(FirmwareRpcTest, MalformedChunksAreRefusedBeforeAnythingIsStaged) {
  schema::Request request;
  schema::FirmwareUpload* upload = request.mutable_firmware_upload();
  upload->set_image_sha256("short");
  upload->set_image_size(10);
  EXPECT_THAT(Handle(request).error(), HasSubstr("image_sha256 must be 32 bytes"));
  upload->set_image_sha256(sha256_);
  upload->set_image_size(10);
  upload->set_data(std::string(11, 'x'));
  EXPECT_THAT(Handle(request).error(), HasSubstr("ends past the image's size"));
  upload->set_image_size(uint64_t{2} << 30);
  upload->clear_data();
  EXPECT_THAT(Handle(request).error(), HasSubstr("1 byte to 1 GiB"));
  // A first chunk that is not at 0 starts nothing.
  EXPECT_THAT(Chunk(1024, 1024).error(), HasSubstr("start at 0"));
  EXPECT_FALSE(fs::exists(upload_dir() / "upload.img"));
}

}  // namespace
}  // namespace sbc::mgmt::service
