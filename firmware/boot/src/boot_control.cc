#include "sbc/firmware/boot_control.h"

#include "sbc/firmware/boot_state.h"
#include "sbc/firmware/rauc_client.h"

namespace sbc::firmware {

namespace {

constexpr int kStatusEvents = 8;

std::string Describe(const schema::FirmwareManifest& manifest) {
  return "image " + manifest.version_name() + " (build " + std::to_string(manifest.version()) +
         ", rollback index " + std::to_string(manifest.rollback_index()) + ")";
}

// The slot's image as this appliance would boot it, or why it would not.
std::expected<schema::FirmwareManifest, std::string> SlotImage(const Appliance& appliance,
                                                               const TrustContext& trust,
                                                               const RunningSlot& running,
                                                               std::string_view slot) {
  if (slot == running.booted.slot) return running.booted.verified.manifest;
  auto verified = VerifySlot(appliance, trust, slot);
  if (!verified) return std::unexpected(verified.error());
  return verified->manifest;
}

BootReply Refuse(const Appliance& appliance, const TrustContext& trust, const RunningSlot& running,
                 std::string why) {
  BootReply reply;
  reply.response.set_error(std::move(why));
  *reply.response.mutable_status() = DescribeFirmware(appliance, trust, running);
  return reply;
}

BootReply Done(const Appliance& appliance, const TrustContext& trust, const RunningSlot& running,
               std::string detail, bool reboot = false) {
  BootReply reply;
  reply.response.set_ok(true);
  reply.response.set_detail(std::move(detail));
  *reply.response.mutable_status() = DescribeFirmware(appliance, trust, running);
  reply.reboot = reboot;
  return reply;
}

// A RAUC bundle: RAUC checks its CMS signature against the release keyring, runs our
// pre-install check of the manifest, marks the slot bad, writes it and asks our
// backend to make it primary, which the held activation turns into "installed".
BootReply InstallBundle(const Appliance& appliance, const TrustContext& trust,
                        const RunningSlot& running, const std::string& path, int64_t now) {
  const std::string slot(OtherSlot(running.booted.slot));
  // RAUC writes "the other slot" as it sees it: only if it agrees which one runs.
  auto rauc_booted = RaucBootedSlot();
  if (!rauc_booted)
    return Refuse(appliance, trust, running,
                  "install: " + rauc_booted.error() + "; slot " + slot + " untouched");
  if (*rauc_booted != running.booted.slot)
    return Refuse(appliance, trust, running,
                  "install: the RAUC service takes slot " + *rauc_booted +
                      " for the booted one, sbc-boot runs slot " + running.booted.slot + "; slot " +
                      slot + " untouched");
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Refuse(appliance, trust, running, "install: " + state.error());
  const bool was_good = IsGood(*state, slot);
  state->set_held_activation(slot);
  if (state->trial() == slot) state->clear_trial();
  RecordEvent(*state, now, slot, "installing a bundle through RAUC");
  if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
    return Refuse(appliance, trust, running, "install: boot state: " + saved.error());
  const auto installed = RaucInstall(path, running.keep_alive);
  auto after = LoadBootState(appliance.boot_dir);
  if (!after) return Refuse(appliance, trust, running, "install: " + after.error());
  after->clear_held_activation();
  if (!installed) {
    RecordEvent(*after, now, slot, "RAUC refused the bundle: " + installed.error(),
                EventKind::kAlarm);
    (void)SaveBootState(appliance.boot_dir, *after);
    return Refuse(appliance, trust, running,
                  "install refused by RAUC: " + installed.error() +
                      (was_good && !IsGood(*after, slot)
                           ? "; slot " + slot + " is marked bad (its write did not complete)"
                           : "; slot " + slot + " untouched"));
  }
  // Read back as a boot would: what RAUC wrote is what will run.
  auto written = VerifySlot(appliance, trust, slot);
  if (!written) {
    SetGood(*after, slot, false, 0);
    RecordEvent(*after, now, slot, "RAUC wrote an image that does not verify: " + written.error(),
                EventKind::kAlarm);
    (void)SaveBootState(appliance.boot_dir, *after);
    return Refuse(appliance, trust, running,
                  "install: slot " + slot + " as RAUC wrote it: " + written.error());
  }
  RecordEvent(*after, now, slot, "installed " + Describe(written->manifest) + " through RAUC");
  (void)SaveBootState(appliance.boot_dir, *after);
  return Done(appliance, trust, running,
              "installed " + Describe(written->manifest) + " to slot " + slot +
                  " through RAUC; running " + Describe(running.booted.verified.manifest) +
                  " in slot " + running.booted.slot);
}

BootReply Install(const Appliance& appliance, const TrustContext& trust, const RunningSlot& running,
                  const std::string& path, int64_t now) {
  if (IsRaucBundle(path)) return InstallBundle(appliance, trust, running, path, now);
  const std::string slot(OtherSlot(running.booted.slot));
  // A rack board's slots are written by RAUC only (verity bundles); the sim board's
  // file slots also take a bare image, for machines without RAUC's loop devices.
  if (!appliance.board.storage().slot_a().file_backed())
    return Refuse(appliance, trust, running,
                  "install: this board installs RAUC bundles only (make-image "
                  "--bundle-cert/--bundle-key); slot " +
                      slot + " untouched");
  auto image = ReadImageFile(path);
  if (!image) return Refuse(appliance, trust, running, "install: " + image.error());
  auto requirements = Requirements(appliance, trust);
  if (!requirements) return Refuse(appliance, trust, running, "install: " + requirements.error());
  auto verified = VerifyImage(*image, trust.verifier, *requirements);
  if (!verified)
    return Refuse(appliance, trust, running,
                  "install refused (" + std::string(ImageRefusalName(verified.error().reason)) +
                      "): " + verified.error().message + "; slot " + slot + " untouched");
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Refuse(appliance, trust, running, "install: " + state.error());
  // Bad while it is written, as RAUC marks a slot before its update: a write cut by a
  // power failure leaves a slot nothing boots from.
  SetGood(*state, slot, false, 0);
  if (state->trial() == slot) state->clear_trial();
  RecordEvent(*state, now, slot, "installing " + Describe(verified->manifest));
  if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
    return Refuse(appliance, trust, running, "install: boot state: " + saved.error());
  auto flashed = FlashSlot(appliance, trust, slot, *image);
  if (!flashed)
    return Refuse(appliance, trust, running, "install: slot " + slot + ": " + flashed.error());
  if (auto after = LoadBootState(appliance.boot_dir)) {
    RecordEvent(*after, now, slot, "installed " + Describe(flashed->manifest));
    (void)SaveBootState(appliance.boot_dir, *after);
  }
  return Done(appliance, trust, running,
              "installed " + Describe(flashed->manifest) + " to slot " + slot + "; running " +
                  Describe(running.booted.verified.manifest) + " in slot " + running.booted.slot);
}

BootReply Activate(const Appliance& appliance, const TrustContext& trust,
                   const RunningSlot& running, int64_t now) {
  const std::string slot(OtherSlot(running.booted.slot));
  auto manifest = SlotImage(appliance, trust, running, slot);
  if (!manifest)
    return Refuse(appliance, trust, running, "activate: slot " + slot + " " + manifest.error());
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Refuse(appliance, trust, running, "activate: " + state.error());
  SetPrimary(*state, slot, appliance.boot_attempts);
  state->set_trial(slot);
  RecordEvent(*state, now, slot, "activated " + Describe(*manifest) + ": on trial until committed");
  if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
    return Refuse(appliance, trust, running, "activate: boot state: " + saved.error());
  return Done(appliance, trust, running,
              "activated " + Describe(*manifest) + " in slot " + slot + ", replacing " +
                  Describe(running.booted.verified.manifest) + " in slot " + running.booted.slot +
                  "; rebooting into it",
              /*reboot=*/true);
}

BootReply Commit(const Appliance& appliance, const TrustContext& trust, const RunningSlot& running,
                 int64_t now) {
  const std::string& slot = running.booted.slot;
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Refuse(appliance, trust, running, "commit: " + state.error());
  if (state->trial() != slot)
    return Refuse(appliance, trust, running,
                  "commit: slot " + slot + " (" + Describe(running.booted.verified.manifest) +
                      ") is not on trial; nothing to commit");
  if (!running.healthy)
    return Refuse(appliance, trust, running,
                  "commit: slot " + slot + " has not passed its health check (" + running.health +
                      "); commit once both planes answer, or revert");
  if (auto marked = MarkGood(appliance, trust, slot, now); !marked)
    return Refuse(appliance, trust, running, "commit: " + marked.error());
  return Done(appliance, trust, running,
              "committed " + Describe(running.booted.verified.manifest) + " in slot " + slot);
}

BootReply Revert(const Appliance& appliance, const TrustContext& trust, const RunningSlot& running,
                 int64_t now) {
  const std::string& from = running.booted.slot;
  const std::string slot(OtherSlot(from));
  auto manifest = SlotImage(appliance, trust, running, slot);
  if (!manifest)
    return Refuse(appliance, trust, running,
                  "revert: slot " + slot + " cannot boot: " + manifest.error());
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Refuse(appliance, trust, running, "revert: " + state.error());
  const bool was_trial = state->trial() == from;
  SetPrimary(*state, slot, appliance.boot_attempts);
  // A trial the operator turned back is not a fallback: it needs a new activation.
  if (was_trial) {
    SetGood(*state, from, false, 0);
    state->clear_trial();
  }
  RecordEvent(*state, now, slot,
              "reverted to " + Describe(*manifest) + " from slot " + from +
                  (was_trial ? " (its trial ended)" : ""));
  if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
    return Refuse(appliance, trust, running, "revert: boot state: " + saved.error());
  return Done(appliance, trust, running,
              "reverted from " + Describe(running.booted.verified.manifest) + " in slot " + from +
                  " to " + Describe(*manifest) + " in slot " + slot + "; rebooting into it",
              /*reboot=*/true);
}

// The events after `after` still in the bounded history, without the slots' status
// (which verifies the other slot's image: too much for a question asked twice a second).
BootReply EventsAfter(const Appliance& appliance, uint64_t after) {
  BootReply reply;
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) {
    reply.response.set_error("boot state: " + state.error());
    return reply;
  }
  reply.response.set_ok(true);
  reply.response.set_events_recorded(state->events_recorded());
  for (const schema::BootEvent& event : state->events())
    if (event.sequence() > after) *reply.response.add_events() = event;
  return reply;
}

}  // namespace

schema::FirmwareStatus DescribeFirmware(const Appliance& appliance, const TrustContext& trust,
                                        const RunningSlot& running) {
  schema::FirmwareStatus status;
  status.set_booted(running.booted.slot);
  status.set_health(running.health);
  if (auto index = trust.keys->FirmwareRollbackIndex()) status.set_rollback_index(*index);
  auto state = LoadBootState(appliance.boot_dir);
  const std::string primary = state ? Primary(*state) : "";
  for (std::string_view name : {kSlotA, kSlotB}) {
    schema::SlotStatus& slot = *status.add_slots();
    slot.set_name(std::string(name));
    slot.set_booted(name == running.booted.slot);
    slot.set_primary(name == primary);
    if (state) {
      auto left = state->attempts_left().find(std::string(name));
      if (left != state->attempts_left().end()) slot.set_attempts_left(left->second);
    }
    auto manifest = SlotImage(appliance, trust, running, name);
    if (!manifest) {
      slot.set_refusal(manifest.error());
      continue;
    }
    slot.set_version_name(manifest->version_name());
    slot.set_version(manifest->version());
    slot.set_rollback_index(manifest->rollback_index());
  }
  if (state) {
    status.set_trial(state->trial());
    const int first = std::max(0, state->events_size() - kStatusEvents);
    for (int i = first; i < state->events_size(); ++i) *status.add_events() = state->events(i);
  }
  return status;
}

BootReply HandleBootRequest(const Appliance& appliance, const TrustContext& trust,
                            const RunningSlot& running, const schema::BootRequest& request,
                            int64_t now_unix) {
  switch (request.kind_case()) {
    case schema::BootRequest::kStatus:
      return Done(appliance, trust, running, "");
    case schema::BootRequest::kInstall:
      return Install(appliance, trust, running, request.install(), now_unix);
    case schema::BootRequest::kActivate:
      return Activate(appliance, trust, running, now_unix);
    case schema::BootRequest::kCommit:
      return Commit(appliance, trust, running, now_unix);
    case schema::BootRequest::kRevert:
      return Revert(appliance, trust, running, now_unix);
    case schema::BootRequest::kVerify: {
      const std::vector<std::string> findings =
          running.check_integrity ? running.check_integrity() : std::vector<std::string>{};
      BootReply reply = Done(appliance, trust, running,
                             "integrity check of slot " + running.booted.slot + " (" +
                                 Describe(running.booted.verified.manifest) +
                                 "): " + std::to_string(findings.size()) + " finding(s)");
      for (const std::string& finding : findings)
        reply.response.mutable_status()->add_integrity_findings(finding);
      return reply;
    }
    case schema::BootRequest::kEventsAfter:
      return EventsAfter(appliance, request.events_after());
    case schema::BootRequest::KIND_NOT_SET:
      break;
  }
  return Refuse(appliance, trust, running, "not a boot request");
}

}  // namespace sbc::firmware
