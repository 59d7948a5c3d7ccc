// The firmware requests sbc-boot answers for sbc-mgmtd (install, activate, commit,
// revert, status) on a sim appliance: each refusal leaves the slots and the boot state
// as they were; an activated update is on trial until committed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "boot_fixture.h"
#include "sbc/firmware/boot_control.h"

namespace sbc::firmware {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr int64_t kNow = 1'800'000'000;

class BootControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_.Flash(kSlotA, sim_.Image("v1", 1));
    Boot();
    ASSERT_TRUE(MarkGood(sim_.appliance(), trust_, kSlotA, kNow).has_value());
  }

  void Boot() {
    auto booted = BootSlot(sim_.appliance(), trust_, kNow);
    ASSERT_TRUE(booted.has_value()) << booted.error();
    booted_ = std::move(*booted);
  }

  BootReply Ask(const schema::BootRequest& request, bool healthy = true) {
    RunningSlot running{booted_, healthy ? "healthy" : "starting", healthy};
    return HandleBootRequest(sim_.appliance(), trust_, running, request, kNow);
  }
  BootReply Install(const std::string& image) {
    const fs::path file = sim_.dir() / "staged.img";
    std::ofstream(file, std::ios::binary | std::ios::trunc) << image;
    schema::BootRequest request;
    request.set_install(file.string());
    return Ask(request);
  }
  template <void (schema::BootRequest::*Set)(bool)>
  BootReply Step(bool healthy = true) {
    schema::BootRequest request;
    (request.*Set)(true);
    return Ask(request, healthy);
  }

  std::string SlotBytes(std::string_view slot) const {
    return ReadImageFile(SlotDevice(sim_.appliance(), slot)).value_or("");
  }

  SimAppliance sim_;
  TrustContext trust_ = sim_.Trust();
  BootedSlot booted_;
};

// A rack board's slots are RAUC's to write: a bare image over the control API is
// refused before anything is read, and a bundle needs RAUC (rauc_integration_test).
TEST_F(BootControlTest, ARackBoardTakesOnlyRaucBundles) {
  Appliance rack = sim_.appliance();
  rack.board.mutable_storage()->mutable_slot_a()->set_file_backed(false);
  rack.board.mutable_storage()->mutable_slot_b()->set_file_backed(false);
  const fs::path file = sim_.dir() / "staged.img";
  std::ofstream(file, std::ios::binary | std::ios::trunc) << sim_.Image("v2", 2);
  const std::string slot_b = SlotBytes(kSlotB);
  schema::BootRequest request;
  request.set_install(file.string());
  RunningSlot running{booted_, "healthy", true};
  const BootReply reply = HandleBootRequest(rack, trust_, running, request, kNow);
  EXPECT_FALSE(reply.response.ok());
  EXPECT_EQ(reply.response.error(),
            "install: this board installs RAUC bundles only (make-image "
            "--bundle-cert/--bundle-key); slot B untouched");
  EXPECT_EQ(SlotBytes(kSlotB), slot_b);
}

TEST_F(BootControlTest, AnInstalledUpdateIsOnTrialOnceActivatedAndGoodOnlyWhenCommitted) {
  const BootReply installed = Install(sim_.Image("v2", 2));
  ASSERT_TRUE(installed.response.ok()) << installed.response.error();
  EXPECT_FALSE(installed.reboot);
  EXPECT_EQ(installed.response.detail(),
            "installed image v2 (build 2, rollback index 2) to slot B; running image v1 (build "
            "1, rollback index 1) in slot A");
  // Installed, not yet bootable: nothing boots it before an activation.
  EXPECT_FALSE(IsGood(sim_.State(), kSlotB));
  const schema::FirmwareStatus& status = installed.response.status();
  ASSERT_EQ(status.slots_size(), 2);
  EXPECT_EQ(status.slots(1).version_name(), "v2");
  EXPECT_TRUE(status.slots(0).booted());
  EXPECT_TRUE(status.slots(0).primary());

  const BootReply activated = Step<&schema::BootRequest::set_activate>();
  ASSERT_TRUE(activated.response.ok()) << activated.response.error();
  EXPECT_TRUE(activated.reboot);
  EXPECT_THAT(activated.response.detail(), HasSubstr("activated image v2"));
  EXPECT_EQ(sim_.State().trial(), "B");

  Boot();
  ASSERT_EQ(booted_.slot, "B");
  const BootReply early = Step<&schema::BootRequest::set_commit>(/*healthy=*/false);
  EXPECT_FALSE(early.response.ok());
  EXPECT_THAT(early.response.error(), HasSubstr("has not passed its health check"));
  EXPECT_EQ(trust_.keys->FirmwareRollbackIndex().value(), 1u);

  const BootReply committed = Step<&schema::BootRequest::set_commit>();
  ASSERT_TRUE(committed.response.ok()) << committed.response.error();
  EXPECT_EQ(committed.response.detail(),
            "committed image v2 (build 2, rollback index 2) in slot B");
  EXPECT_EQ(sim_.State().trial(), "");
  EXPECT_EQ(sim_.State().attempts_left().at("B"), sim_.appliance().boot_attempts);
  EXPECT_EQ(trust_.keys->FirmwareRollbackIndex().value(), 2u);
  EXPECT_EQ(committed.response.status().rollback_index(), 2u);

  // v1 (index 1) is now below the committed index: no revert to it.
  const BootReply revert = Step<&schema::BootRequest::set_revert>();
  EXPECT_FALSE(revert.response.ok());
  EXPECT_THAT(revert.response.error(), HasSubstr("revert: slot A cannot boot: refused (rollback"));
  EXPECT_EQ(Primary(sim_.State()), "B");
}

TEST_F(BootControlTest, ATrialTurnedBackBootsThePreviousSlotAndIsNoFallback) {
  ASSERT_TRUE(Install(sim_.Image("v2", 2)).response.ok());
  ASSERT_TRUE(Step<&schema::BootRequest::set_activate>().response.ok());
  Boot();
  ASSERT_EQ(booted_.slot, "B");
  const BootReply reverted = Step<&schema::BootRequest::set_revert>();
  ASSERT_TRUE(reverted.response.ok()) << reverted.response.error();
  EXPECT_TRUE(reverted.reboot);
  EXPECT_THAT(reverted.response.detail(),
              HasSubstr("reverted from image v2 (build 2, rollback index 2) in slot B to image "
                        "v1 (build 1, rollback index 1) in slot A"));
  const schema::BootState state = sim_.State();
  EXPECT_EQ(Primary(state), "A");
  EXPECT_FALSE(IsGood(state, kSlotB));
  EXPECT_EQ(state.trial(), "");
  Boot();
  EXPECT_EQ(booted_.slot, "A");
}

TEST_F(BootControlTest, RefusedInstallsLeaveTheInactiveSlotAndTheBootStateAsTheyWere) {
  ASSERT_TRUE(Install(sim_.Image("v1b", 1)).response.ok());  // B holds a spare
  const std::string before = SlotBytes(kSlotB);
  const schema::BootState state_before = sim_.State();

  std::string tampered = sim_.Image("v3", 3);
  tampered[tampered.size() - 10] ^= 1;
  const std::vector<std::pair<std::string, std::string>> refusals = {
      {sim_.Image("v3", 3, {"rack-1u-e810"}), "install refused (wrong_board)"},
      {tampered, "install refused (file_changed)"},
      {"not an image at all", "install refused (malformed)"},
  };
  for (const auto& [image, why] : refusals) {
    const BootReply reply = Install(image);
    EXPECT_FALSE(reply.response.ok()) << why;
    EXPECT_THAT(reply.response.error(), HasSubstr(why));
    EXPECT_THAT(reply.response.error(), HasSubstr("slot B untouched"));
    EXPECT_EQ(SlotBytes(kSlotB), before) << why;
    EXPECT_EQ(sim_.State().generation(), state_before.generation()) << why;
  }
  // Nothing to activate once the slot holds no image that verifies: say why.
  std::ofstream(SlotDevice(sim_.appliance(), kSlotB), std::ios::binary | std::ios::trunc)
      << "garbage";
  const BootReply activate = Step<&schema::BootRequest::set_activate>();
  EXPECT_FALSE(activate.response.ok());
  EXPECT_THAT(activate.response.error(), HasSubstr("activate: slot B refused (malformed)"));
  EXPECT_EQ(Primary(sim_.State()), "A");
  EXPECT_FALSE(activate.reboot);
}

TEST_F(BootControlTest, ACommittedSlotHasNothingToCommit) {
  const BootReply commit = Step<&schema::BootRequest::set_commit>();
  EXPECT_FALSE(commit.response.ok());
  EXPECT_THAT(commit.response.error(), HasSubstr("is not on trial; nothing to commit"));
}

// sbc-mgmtd audits sbc-boot's events by asking for those after the last it audited:
// they are numbered in the order recorded, and the numbers go on past the history's
// bound.
TEST_F(BootControlTest, EventsAreNumberedAndOnlyThoseAfterTheOneAskedForAreReturned) {
  schema::BootRequest request;
  request.set_events_after(0);
  const BootReply all = Ask(request);
  ASSERT_TRUE(all.response.ok()) << all.response.error();
  ASSERT_GE(all.response.events_size(), 2);
  EXPECT_EQ(all.response.events_recorded(), uint64_t(all.response.events_size()));
  for (int i = 0; i < all.response.events_size(); ++i)
    EXPECT_EQ(all.response.events(i).sequence(), uint64_t(i + 1));
  EXPECT_THAT(all.response.events().rbegin()->what(), ::testing::StartsWith("marked good"));
  EXPECT_FALSE(all.response.has_status()) << "no slot status: it verifies the other slot";

  ASSERT_TRUE(Install(sim_.Image("v2", 2)).response.ok());
  const uint64_t seen = all.response.events_recorded();
  request.set_events_after(seen);
  const BootReply after = Ask(request);
  ASSERT_EQ(after.response.events_size(), 2);
  EXPECT_EQ(after.response.events(0).sequence(), seen + 1);
  EXPECT_THAT(after.response.events(0).what(), HasSubstr("installing image v2"));
  EXPECT_THAT(after.response.events(1).what(), HasSubstr("installed image v2"));

  schema::BootState state = sim_.State();
  for (int i = 0; i < 2 * kMaxBootEvents; ++i) RecordEvent(state, kNow, kSlotA, "event");
  EXPECT_EQ(state.events_size(), kMaxBootEvents);
  EXPECT_EQ(state.events_recorded(), seen + 2 + 2 * kMaxBootEvents);
  EXPECT_EQ(state.events().rbegin()->sequence(), state.events_recorded());
}

}  // namespace
}  // namespace sbc::firmware
