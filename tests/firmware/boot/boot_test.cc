// sbc-boot's decisions on a sim appliance: the slot it takes, the refusals that make it
// take the other, the revert after failed boots, and power cuts in the boot-state write.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot_fixture.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/firmware/rauc.h"

namespace sbc::firmware {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000;

std::string LastEvent(const schema::BootState& state) {
  return state.events().empty() ? "" : state.events().rbegin()->what();
}

void ChangeByteInSlot(const Appliance& appliance, std::string_view slot, size_t from_end_of,
                      size_t image_size) {
  std::fstream file(SlotDevice(appliance, slot), std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(image_size - from_end_of));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(image_size - from_end_of));
  file.put(static_cast<char>(c ^ 0x20));
}

TEST(BootStateTest, AttemptsAreTakenInOrderAndAnExhaustedSlotGivesWayToTheOther) {
  schema::BootState state = InitialBootState(kSlotA, 2);
  SetGood(state, kSlotB, true, 2);
  EXPECT_EQ(TakeBootAttempt(state, kNow), "A");
  EXPECT_EQ(TakeBootAttempt(state, kNow), "A");
  EXPECT_FALSE(IsGood(state, kSlotA));
  EXPECT_EQ(Primary(state), "B");
  EXPECT_EQ(TakeBootAttempt(state, kNow), "B");
  EXPECT_EQ(TakeBootAttempt(state, kNow), "B");
  EXPECT_EQ(TakeBootAttempt(state, kNow), "");
  EXPECT_THAT(LastEvent(state), HasSubstr("recovery needed"));
}

TEST(BootStateTest, TheEventHistoryIsBounded) {
  schema::BootState state = InitialBootState(kSlotA, 3);
  for (int i = 0; i < 3 * kMaxBootEvents; ++i)
    RecordEvent(state, kNow + i, "A", "e" + std::to_string(i));
  ASSERT_EQ(state.events_size(), kMaxBootEvents);
  EXPECT_EQ(LastEvent(state), "e" + std::to_string(3 * kMaxBootEvents - 1));
}

TEST(BootTest, TheFlashedSlotBootsWithEveryFileCheckedAndUnpacked) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_TRUE(booted.has_value()) << booted.error();
  EXPECT_EQ(booted->slot, "A");
  EXPECT_TRUE(booted->refusals.empty());
  EXPECT_TRUE(mgmt::image::VerifyTree(booted->root, booted->verified.manifest).has_value());
  const schema::BootState state = sim.State();
  EXPECT_EQ(state.booted(), "A");
  EXPECT_EQ(state.attempts_left().at("A"), sim.appliance().boot_attempts - 1);
}

TEST(BootTest, ATamperedSlotIsRefusedWithItsReasonAndTheOtherSlotBoots) {
  SimAppliance sim;
  const std::string spare = sim.Image("v1", 1);
  sim.Flash(kSlotB, spare);
  const std::string image = sim.Image("v2", 2);
  sim.Flash(kSlotA, image);
  // Keep B bootable as the spare (as after a committed update).
  schema::BootState state = sim.State();
  SetGood(state, kSlotB, true, 3);
  ASSERT_TRUE(SaveBootState(sim.appliance().boot_dir, state).has_value());

  ChangeByteInSlot(sim.appliance(), kSlotA, 3, image.size());
  auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_TRUE(booted.has_value()) << booted.error();
  EXPECT_EQ(booted->slot, "B");
  ASSERT_EQ(booted->refusals.size(), 1u);
  EXPECT_THAT(booted->refusals[0],
              HasSubstr("slot A refused (file_changed): etc/defaults.textproto: SHA-256 differs"));
  state = sim.State();
  EXPECT_FALSE(IsGood(state, kSlotA));
  bool recorded = false;
  for (const schema::BootEvent& event : state.events()) {
    const bool refusal = event.slot() == "A" && event.what().starts_with("refused (file_changed)");
    recorded |= refusal;
    // A refusal is a fault the operator must see; the boot attempt is not.
    EXPECT_EQ(event.alarm(), refusal) << event.what();
  }
  EXPECT_TRUE(recorded) << DescribeBootState(state);
}

TEST(BootTest, WhenNoSlotVerifiesBootRefusesNamingEachReason) {
  SimAppliance sim;
  const std::string image = sim.Image("v1", 1);
  sim.Flash(kSlotA, image);
  ChangeByteInSlot(sim.appliance(), kSlotA, 3, image.size());
  auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_FALSE(booted.has_value());
  EXPECT_THAT(booted.error(), HasSubstr("no slot can boot; slot A refused (file_changed)"));
  EXPECT_THAT(booted.error(), HasSubstr("no other slot has boot attempts left"));
}

TEST(BootTest, AnUpdateThatNeverPassesItsHealthCheckRevertsWithinItsAttempts) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  ASSERT_TRUE(BootSlot(sim.appliance(), sim.Trust(), kNow).has_value());
  ASSERT_TRUE(MarkGood(sim.appliance(), sim.Trust(), kSlotA, kNow).has_value());
  // RAUC's install of v2 into B: set-state B bad, write, set-primary B.
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-state", "B", "bad"}, kNow).has_value());
  ASSERT_TRUE(FlashSlot(sim.appliance(), sim.Trust(), kSlotB, sim.Image("v2", 2)).has_value());
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-primary", "B"}, kNow).has_value());

  // v2 boots, but nobody marks it good: every boot takes one of its attempts.
  for (uint32_t i = 0; i < sim.appliance().boot_attempts; ++i) {
    auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
    ASSERT_TRUE(booted.has_value());
    EXPECT_EQ(booted->slot, "B") << "boot " << i;
  }
  auto reverted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_TRUE(reverted.has_value());
  EXPECT_EQ(reverted->slot, "A");
  EXPECT_EQ(reverted->verified.manifest.version_name(), "v1");
  EXPECT_EQ(RunBootloaderBackend(sim.appliance(), {"get-state", "B"}, kNow).value(), "bad\n");
}

// The same RAUC install started over the control API (sbc-boot holds the activation
// first): the closing set-primary only records it, and the next boot stays on A. A
// hold a power cut left behind (the install never reached set-primary) is dropped by
// the next boot, so a later console install is made primary as usual.
TEST(BootTest, AnActivationHeldForTheControlApiLeavesTheWrittenSlotWaiting) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  ASSERT_TRUE(BootSlot(sim.appliance(), sim.Trust(), kNow).has_value());
  ASSERT_TRUE(MarkGood(sim.appliance(), sim.Trust(), kSlotA, kNow).has_value());
  auto hold = [&] {
    auto state = LoadBootState(sim.appliance().boot_dir);
    ASSERT_TRUE(state.has_value());
    state->set_held_activation("B");
    ASSERT_TRUE(SaveBootState(sim.appliance().boot_dir, *state).has_value());
  };
  hold();
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-state", "B", "bad"}, kNow).has_value());
  ASSERT_TRUE(FlashSlot(sim.appliance(), sim.Trust(), kSlotB, sim.Image("v2", 2)).has_value());
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-primary", "B"}, kNow).has_value());
  auto state = LoadBootState(sim.appliance().boot_dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->held_activation(), "");
  EXPECT_EQ(Primary(*state), "A");
  EXPECT_EQ(state->events().rbegin()->what(), "written by RAUC; held for activate");
  EXPECT_EQ(RunBootloaderBackend(sim.appliance(), {"get-state", "B"}, kNow).value(), "bad\n");
  auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_TRUE(booted.has_value());
  EXPECT_EQ(booted->slot, "A");

  // Held, then the power cut: the next boot drops the hold (and still boots A).
  hold();
  booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
  ASSERT_TRUE(booted.has_value());
  EXPECT_EQ(booted->slot, "A");
  EXPECT_EQ(LoadBootState(sim.appliance().boot_dir)->held_activation(), "");
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-primary", "B"}, kNow).has_value());
  EXPECT_EQ(RunBootloaderBackend(sim.appliance(), {"get-primary"}, kNow).value(), "B\n");
}

TEST(BootTest, MarkGoodRaisesTheIndexAndOlderImagesNoLongerBoot) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  sim.Flash(kSlotB, sim.Image("v3", 3));
  ASSERT_EQ(BootSlot(sim.appliance(), sim.Trust(), kNow)->slot, "B");
  ASSERT_TRUE(RunBootloaderBackend(sim.appliance(), {"set-state", "B", "good"}, kNow).has_value());
  EXPECT_EQ(sim.Trust().keys->FirmwareRollbackIndex().value(), 3u);
  EXPECT_THAT(LastEvent(sim.State()), HasSubstr("marked good: image v3 (rollback index 3)"));

  // Slot A (index 1) is now refused, at boot and by flashing.
  auto refused = VerifySlot(sim.appliance(), sim.Trust(), kSlotA);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error(), HasSubstr("rollback_index_too_low"));
  auto flash = FlashSlot(sim.appliance(), sim.Trust(), kSlotA, sim.Image("v2", 2));
  ASSERT_FALSE(flash.has_value());
  EXPECT_THAT(flash.error(),
              HasSubstr("anti-rollback index 2, this appliance has committed index 3"));
}

TEST(BootTest, AnImageLargerThanItsSlotIsRefusedBeforeAnythingIsWritten) {
  SimAppliance sim;
  std::string image = sim.Image("v1", 1);
  image.resize((size_t{256} << 20) + 1);  // the sim board's slots are 256 MiB
  auto flashed = FlashSlot(sim.appliance(), sim.Trust(), kSlotA, image);
  ASSERT_FALSE(flashed.has_value());
  EXPECT_THAT(flashed.error(), HasSubstr("does not fit slot A (256 MiB)"));
  EXPECT_FALSE(std::filesystem::exists(SlotDevice(sim.appliance(), kSlotA)));
}

TEST(BootTest, TheBootloaderBackendRefusesWhatRaucNeverSends) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  EXPECT_EQ(RunBootloaderBackend(sim.appliance(), {"get-primary"}, kNow).value(), "A\n");
  EXPECT_EQ(RunBootloaderBackend(sim.appliance(), {"get-state", "B"}, kNow).value(), "bad\n");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {}, {"get-state"}, {"get-state", "C"}, {"set-state", "A", "maybe"}, {"reboot"}})
    EXPECT_FALSE(RunBootloaderBackend(sim.appliance(), args, kNow).has_value());
}

// Power cut at every durable step of the boot-state write (counted kill points): the
// state reads as the old or the new, never neither, and a good slot still boots.
TEST(BootTest, APowerCutAtAnyStepOfTheBootStateWriteLeavesAStateThatBoots) {
  SimAppliance sim;
  sim.Flash(kSlotA, sim.Image("v1", 1));
  sim.Flash(kSlotB, sim.Image("v2", 2), /*primary=*/false);
  const uint64_t before = sim.State().generation();
  int cut_points = 0;
  for (int cut = 1;; ++cut) {
    const uint64_t generation = sim.State().generation();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      int step = 0;
      auto state = LoadBootState(sim.appliance().boot_dir);
      if (!state) _exit(2);
      SetPrimary(*state, kSlotB, 3);
      (void)SaveBootState(sim.appliance().boot_dir, *state, [&](std::string_view) {
        if (++step == cut) raise(SIGKILL);
      });
      _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    auto state = LoadBootState(sim.appliance().boot_dir);
    ASSERT_TRUE(state.has_value()) << "cut at step " << cut << ": " << state.error();
    EXPECT_TRUE(state->generation() == generation || state->generation() == generation + 1);
    auto booted = BootSlot(sim.appliance(), sim.Trust(), kNow);
    ASSERT_TRUE(booted.has_value()) << "cut at step " << cut << ": " << booted.error();
    if (WIFEXITED(status)) break;  // the write ran through: every step was cut once
    ASSERT_TRUE(WIFSIGNALED(status));
    ++cut_points;
  }
  EXPECT_EQ(cut_points, 4);  // temp written, synced, renamed, directory synced
  EXPECT_GT(sim.State().generation(), before);
}

}  // namespace
}  // namespace sbc::firmware
