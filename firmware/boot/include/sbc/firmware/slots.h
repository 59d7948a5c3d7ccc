// The appliance's A/B slots as sbc-boot and the RAUC handlers see them: where each slot
// is, reading and verifying the image in it, and writing one (factory flashing).
// Control side only.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "sbc/board/board.h"
#include "sbc/drivers/key_store.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/mgmt/image/image.h"
#include "sbc/mgmt/trust/verifier.h"

namespace sbc::firmware {

// The image format is the management plane's (sbc-sign and sbc-mgmtd use it too).
using mgmt::image::ImageRefusalName;
using mgmt::image::ImageRequirements;
using mgmt::image::VerifiedManifest;
using mgmt::image::VerifyImage;

// What sbc-boot knows of its appliance, from the board file.
struct Appliance {
  board::Board board;
  std::filesystem::path board_file;
  std::filesystem::path data_dir;
  std::filesystem::path boot_dir;  // data_dir/boot: the boot state
  std::filesystem::path run_dir;   // data_dir/run: unpacked slots, sockets, status
  std::filesystem::path key_store;
  uint32_t boot_attempts = 0;
};

// Loads and validates the board. Returns one line per problem, joined.
[[nodiscard]] std::expected<Appliance, std::string> LoadAppliance(
    const std::filesystem::path& board_file);

[[nodiscard]] std::filesystem::path SlotDevice(const Appliance& appliance, std::string_view slot);

// A file-backed (sim) board's slots as files of their size_mb, created where missing
// (a rack board's slots are partitions that exist already). Existing files are kept.
[[nodiscard]] std::expected<void, std::string> PrepareSlots(const Appliance& appliance);

// The trust root and identity (key store files), and the key store's rollback index.
struct TrustContext {
  mgmt::trust::Verifier verifier;
  std::unique_ptr<drivers::KeyStore> keys;
};
[[nodiscard]] std::expected<TrustContext, std::string> LoadTrust(const Appliance& appliance);

// The requirements every image on this appliance meets: its board and at least the
// committed rollback index.
[[nodiscard]] std::expected<ImageRequirements, std::string> Requirements(const Appliance& appliance,
                                                                         const TrustContext& trust);

// The bytes of a slot (or image file), read whole.
[[nodiscard]] std::expected<std::string, std::string> ReadImageFile(
    const std::filesystem::path& file);

// Verifies `image` and writes it to the slot's start (raw, as RAUC's raw handler
// does), then syncs. A refused image writes nothing. For factory flashing and tests.
[[nodiscard]] std::expected<VerifiedManifest, std::string> FlashSlot(const Appliance& appliance,
                                                                     const TrustContext& trust,
                                                                     std::string_view slot,
                                                                     std::string_view image);

}  // namespace sbc::firmware
