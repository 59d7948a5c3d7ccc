#include "sbc/firmware/boot.h"

#include <system_error>

#include "sbc/firmware/boot_state.h"

namespace sbc::firmware {

namespace fs = std::filesystem;

std::expected<VerifiedManifest, std::string> VerifySlot(const Appliance& appliance,
                                                        const TrustContext& trust,
                                                        std::string_view slot) {
  auto requirements = Requirements(appliance, trust);
  if (!requirements) return std::unexpected(requirements.error());
  auto image = ReadImageFile(SlotDevice(appliance, slot));
  if (!image) return std::unexpected(image.error());
  auto verified = VerifyImage(*image, trust.verifier, *requirements);
  if (!verified)
    return std::unexpected("refused (" + std::string(ImageRefusalName(verified.error().reason)) +
                           "): " + verified.error().message);
  return std::move(*verified);
}

namespace {

// Unpacks into a fresh directory beside the target, checks the tree, then swaps it in:
// the daemons never start from a half-written copy.
std::expected<fs::path, std::string> Unpack(const Appliance& appliance, std::string_view slot,
                                            std::string_view image,
                                            const VerifiedManifest& verified) {
  std::error_code ec;
  fs::create_directories(appliance.run_dir, ec);
  if (ec) return std::unexpected(appliance.run_dir.string() + ": " + ec.message());
  fs::path root = appliance.run_dir / ("slot-" + std::string(slot));
  const fs::path fresh = appliance.run_dir / ("slot-" + std::string(slot) + ".new");
  fs::remove_all(fresh, ec);
  if (auto ok = mgmt::image::UnpackImage(image, verified, fresh); !ok)
    return std::unexpected(ok.error().message);
  if (auto ok = mgmt::image::VerifyTree(fresh, verified.manifest); !ok)
    return std::unexpected("unpacked copy: " + ok.error().message);
  fs::remove_all(root, ec);
  fs::rename(fresh, root, ec);
  if (ec) return std::unexpected(root.string() + ": " + ec.message());
  return root;
}

}  // namespace

std::expected<BootedSlot, std::string> BootSlot(const Appliance& appliance,
                                                const TrustContext& trust, int64_t now_unix) {
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return std::unexpected(state.error());
  auto requirements = Requirements(appliance, trust);
  if (!requirements) return std::unexpected(requirements.error());
  std::vector<std::string> refusals;
  // A RAUC install over the control API that a power failure cut: its slot is bad
  // (RAUC marks it before writing), and nothing is held for it any more.
  state->clear_held_activation();
  // At most one try per slot: a refused slot has no attempts left afterwards.
  for (int tries = 0; tries < 2; ++tries) {
    const std::string slot = TakeBootAttempt(*state, now_unix);
    if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
      return std::unexpected("boot state: " + saved.error());
    if (slot.empty()) break;
    auto image = ReadImageFile(SlotDevice(appliance, slot));
    std::string refusal;
    if (!image) {
      refusal = image.error();
    } else if (auto verified = VerifyImage(*image, trust.verifier, *requirements); !verified) {
      refusal = "refused (" + std::string(ImageRefusalName(verified.error().reason)) +
                "): " + verified.error().message;
    } else if (auto root = Unpack(appliance, slot, *image, *verified); !root) {
      refusal = root.error();
    } else {
      return BootedSlot{slot, std::move(*verified), std::move(*root), std::move(refusals)};
    }
    refusals.push_back(std::string("slot ").append(slot).append(" ").append(refusal));
    SetGood(*state, slot, false, 0);
    RecordEvent(*state, now_unix, slot, refusal, EventKind::kAlarm);
    if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
      return std::unexpected("boot state: " + saved.error());
  }
  std::string text = "no slot can boot";
  for (const std::string& refusal : refusals) text += "; " + refusal;
  if (refusals.size() < 2) text += "; no other slot has boot attempts left";
  return std::unexpected(text);
}

std::expected<void, std::string> MarkGood(const Appliance& appliance, const TrustContext& trust,
                                          std::string_view slot, int64_t now_unix) {
  auto verified = VerifySlot(appliance, trust, slot);
  if (!verified) return std::unexpected("slot " + std::string(slot) + " " + verified.error());
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return std::unexpected(state.error());
  // The index first: were the state written first and the index write cut, the slot
  // would be good with older images still admitted; this way a cut leaves the slot to
  // be marked again, which is harmless.
  if (auto raised = trust.keys->RaiseFirmwareRollbackIndex(verified->manifest.rollback_index());
      !raised)
    return std::unexpected(raised.error());
  SetGood(*state, slot, true, appliance.boot_attempts);
  // A trial ends when it is committed, or when its slot ran out of attempts and this
  // (the other) slot booted instead.
  if (state->trial() == slot || (!state->trial().empty() && !IsGood(*state, state->trial())))
    state->clear_trial();
  RecordEvent(*state, now_unix, slot,
              "marked good: image " + verified->manifest.version_name() + " (rollback index " +
                  std::to_string(verified->manifest.rollback_index()) + ")");
  return SaveBootState(appliance.boot_dir, *state);
}

}  // namespace sbc::firmware
