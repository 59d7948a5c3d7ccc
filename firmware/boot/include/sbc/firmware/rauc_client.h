// sbc-boot as a client of the RAUC service (over D-Bus, through the `rauc` command):
// a bundle uploaded over the control API is installed by RAUC, as a console
// `rauc install` is, so RAUC's CMS check against the release keyring, our pre-install
// manifest check and RAUC's slot write and marking all apply. The boot state keeps the
// written slot waiting for the operator's activate (BootState.held_activation).
#pragma once

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace sbc::firmware {

inline constexpr char kRaucCommand[] = "/usr/bin/rauc";

// A RAUC bundle (plain or verity: a SquashFS image first), as opposed to our bare
// signed image: its first four bytes.
[[nodiscard]] bool IsRaucBundle(const std::filesystem::path& file);

struct CommandResult {
  int exit_code = -1;  // -1: it did not run to its end (killed at the deadline, or no exec)
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (a full path) with `argv`, its output collected, calling `waiting` as it
// starts and about every 500 ms until it ends (sbc-boot kicks the watchdog there: an
// install may take minutes). Past `deadline` it is killed.
[[nodiscard]] CommandResult RunCommand(const std::vector<std::string>& argv,
                                       std::chrono::seconds deadline,
                                       const std::function<void()>& waiting);

// The slot the RAUC service believes booted ("A", "B"), from `rauc status`. It must be
// sbc-boot's running slot before RAUC may write the other one.
[[nodiscard]] std::expected<std::string, std::string> RaucBootedSlot();

// `rauc install <bundle>`; on failure RAUC's own reason, in one line.
[[nodiscard]] std::expected<void, std::string> RaucInstall(const std::filesystem::path& bundle,
                                                           const std::function<void()>& waiting);

}  // namespace sbc::firmware
