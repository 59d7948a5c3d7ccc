// sbc-boot's decisions: which slot boots (taking one of its attempts first), checking
// every file of it before anything runs, and marking it good after its health check.
// Control side only; one sbc-boot (or RAUC handler) writes the boot state at a time.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/firmware/slots.h"

namespace sbc::firmware {

struct BootedSlot {
  std::string slot;
  VerifiedManifest verified;
  std::filesystem::path root;  // the slot's files, unpacked and checked
  // One line per slot refused on the way ("slot B refused (file_changed): ...").
  std::vector<std::string> refusals;
};

// Takes a boot attempt (written before anything of the slot is read), verifies the
// chosen slot's image against the trust root, board and rollback index, and unpacks
// it under run_dir/slot-<name>. A refused slot loses its remaining attempts, the
// refusal is recorded in the boot state, and the other slot is tried. Returns an error
// when no slot has attempts left or every slot was refused (recovery: OPERATIONS.md).
[[nodiscard]] std::expected<BootedSlot, std::string> BootSlot(const Appliance& appliance,
                                                              const TrustContext& trust,
                                                              int64_t now_unix);

// The slot passed its health check: its attempts back, the event recorded, and the key
// store's anti-rollback index raised to its image's. The slot's image must verify.
[[nodiscard]] std::expected<void, std::string> MarkGood(const Appliance& appliance,
                                                        const TrustContext& trust,
                                                        std::string_view slot, int64_t now_unix);

// The verified manifest of the image in `slot` (for status and the integrity check).
[[nodiscard]] std::expected<VerifiedManifest, std::string> VerifySlot(const Appliance& appliance,
                                                                      const TrustContext& trust,
                                                                      std::string_view slot);

}  // namespace sbc::firmware
