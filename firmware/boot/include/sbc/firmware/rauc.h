// RAUC integration: the system.conf sbc-boot writes for RAUC, the custom bootloader
// backend RAUC calls (get-primary, set-primary, get-state, set-state over our boot
// state), and the pre-install handler that checks our signed manifest before RAUC
// writes any slot. RAUC checks the bundle's CMS signature against the release keyring
// itself; our handler then checks what RAUC cannot: the FIRMWARE signatures and
// threshold, the environment, the board and the anti-rollback index.
// Control side only; each call is a short-lived process.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <string>
#include <vector>

#include "sbc/firmware/slots.h"

namespace sbc::firmware {

// The image file's name inside a bundle ([image.rootfs] filename=).
inline constexpr char kBundleImageName[] = "sbc-image.img";
// The release keyring (PEM CA certificates) RAUC checks bundles against, in the key store.
inline constexpr char kRaucKeyringFile[] = "rauc-keyring.pem";

// The RAUC `compatible` string of a board: "sbc-<board name>".
[[nodiscard]] std::string RaucCompatible(const Appliance& appliance);

// Writes `out_dir`/system.conf and the two handler scripts RAUC runs
// (sbc-rauc-backend, sbc-rauc-pre-install: each execs `sbc_boot` with the board file).
// Slot devices, data directory and mount prefix come from the board; bundles are
// `plain` on a file-backed board (verity needs device-mapper) and `verity` otherwise.
[[nodiscard]] std::expected<void, std::string> WriteRaucConfig(
    const Appliance& appliance, const std::filesystem::path& out_dir,
    const std::filesystem::path& sbc_boot);

// One call of RAUC's custom bootloader backend, arguments as RAUC passes them. On
// success returns what goes to stdout (a boot name, "good"/"bad", or nothing).
// set-state good is mark-good: MarkGood (which raises the rollback index).
[[nodiscard]] std::expected<std::string, std::string> RunBootloaderBackend(
    const Appliance& appliance, const std::vector<std::string>& args, int64_t now_unix);

// The pre-install check on the mounted bundle at `bundle_dir`: its image's manifest
// and every file's hash. An error is one line RAUC shows as the install's failure.
[[nodiscard]] std::expected<std::string, std::string> CheckBundle(
    const Appliance& appliance, const std::filesystem::path& bundle_dir);

}  // namespace sbc::firmware
