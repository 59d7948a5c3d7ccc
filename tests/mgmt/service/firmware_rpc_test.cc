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
    if (request.has_events_after()) {
      // As sbc-boot answers: the events numbered after the one asked for, and how many
      // the boot state ever recorded.
      for (const schema::BootEvent& event : events)
        if (event.sequence() > request.events_after()) *response.add_events() = event;
      response.set_events_recorded(events.empty() ? 0 : events.back().sequence());
      response.set_ok(true);
      return response;
    }
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

  // Records one event in the boot state's bounded history (`kept` of them).
  void Record(const std::string& what, bool alarm = false, size_t kept = 32) {
    schema::BootEvent event;
    event.set_sequence(events.empty() ? recorded_before + 1 : events.back().sequence() + 1);
    event.set_unix_time(1'796'000'000 + static_cast<int64_t>(event.sequence()));
    event.set_slot("B");
    event.set_what(what);
    event.set_alarm(alarm);
    events.push_back(event);
    if (events.size() > kept) events.erase(events.begin());
  }

  std::vector<schema::BootRequest> requests;
  std::vector<schema::BootEvent> events;
  uint64_t recorded_before = 0;  // a history that starts after events already trimmed
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
    service_->AttachFirmware(&boot_, upload_dir(), dir_.path() / "firmware-events-audited");
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

  // The FIRMWARE_EVENT entries, as "OUTCOME detail".
  std::vector<std::string> BootEventEntries() const {
    std::vector<std::string> lines;
    for (const schema::AuditEntry& entry : AuditEntries()) {
      if (entry.rpc() != schema::FIRMWARE_EVENT) continue;
      EXPECT_EQ(entry.user(), "sbc-boot");
      lines.push_back(schema::Outcome_Name(entry.outcome()) + " " + entry.detail());
    }
    return lines;
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

TEST_F(FirmwareRpcTest, SbcBootsEventsAreAuditedOnceEachInOrderAlsoAcrossARestart) {
  boot_.Record("boot attempt (2 left after it)");
  boot_.Record("crash loop: a plane keeps exiting", /*alarm=*/true);
  service_->Tick();
  EXPECT_THAT(
      BootEventEntries(),
      ::testing::ElementsAre(
          "OK boot event 1 at 2026-11-30T00:53:21.000Z, slot B: boot attempt (2 left after it)",
          "FAILED boot event 2 at 2026-11-30T00:53:22.000Z, slot B: crash loop: a plane keeps "
          "exiting"));
  service_->Tick();
  EXPECT_EQ(BootEventEntries().size(), 2u) << "nothing new: nothing audited";

  boot_.Record("watchdog reset (counted as a failed boot)", /*alarm=*/true);
  Restart();  // sbc-mgmtd restarted: what it audited before is not audited again
  service_->Tick();
  const std::vector<std::string> lines = BootEventEntries();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("FAILED boot event 3 "));
  EXPECT_THAT(lines[2], HasSubstr("watchdog reset"));
  EXPECT_TRUE(audit::Verify(dir_.path() / "audit").ok);
}

TEST_F(FirmwareRpcTest, BootEventsLostFromTheBoundedHistoryAreNamedAndAFreshBootStateIsAudited) {
  boot_.Record("boot attempt (2 left after it)");
  service_->Tick();
  // While sbc-mgmtd was not running, more happened than the history keeps.
  for (int i = 0; i < 6; ++i) boot_.Record("boot attempt " + std::to_string(i), false, 3);
  service_->Tick();
  std::vector<std::string> lines = BootEventEntries();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1],
            "FAILED boot events 2 to 4 left sbc-boot's bounded history before they were audited");
  EXPECT_THAT(lines[2], HasSubstr("boot event 5 "));
  EXPECT_THAT(lines[4], HasSubstr("boot event 7 "));

  // The box flashed again: its boot state numbers from 1 again.
  boot_.events.clear();
  boot_.Record("flashed image v1");
  service_->Tick();
  lines = BootEventEntries();
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[5], "OK the boot state was started afresh (1 event(s) since; 7 audited before)");
  EXPECT_THAT(lines[6], HasSubstr("boot event 1 "));
  EXPECT_THAT(lines[6], HasSubstr("flashed image v1"));
}

TEST_F(FirmwareRpcTest, WhileSbcBootDoesNotAnswerNothingIsAuditedAndItIsCaughtUpAfter) {
  boot_.Record("boot attempt (2 left after it)");
  boot_.unreachable = true;
  service_->Tick();
  EXPECT_TRUE(BootEventEntries().empty());
  boot_.unreachable = false;
  service_->Tick();
  EXPECT_EQ(BootEventEntries().size(), 1u);
}

}  // namespace
}  // namespace sbc::mgmt::service
