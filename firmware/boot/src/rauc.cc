#include "sbc/firmware/rauc.h"

#include <sys/stat.h>

#include <fstream>
#include <system_error>

#include "sbc/firmware/boot.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/mgmt/base/atomic_file.h"

namespace sbc::firmware {

namespace fs = std::filesystem;

std::string RaucCompatible(const Appliance& appliance) { return "sbc-" + appliance.board.name(); }

namespace {

// Single-quoted for sh: the only character to escape is the quote itself.
std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::expected<void, std::string> WriteScript(const fs::path& dir, const std::string& name,
                                             const std::string& body) {
  if (auto ok = mgmt::base::WriteFileAtomically(dir, name, body); !ok) return ok;
  if (chmod((dir / name).c_str(), 0700) != 0)
    return std::unexpected((dir / name).string() + ": chmod failed");
  return {};
}

}  // namespace

std::expected<void, std::string> WriteRaucConfig(const Appliance& appliance,
                                                 const fs::path& out_dir,
                                                 const fs::path& sbc_boot) {
  if (auto ok = PrepareSlots(appliance); !ok) return ok;
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  const fs::path rauc_data = fs::absolute(appliance.data_dir / "rauc", ec);
  fs::create_directories(rauc_data / "mnt", ec);
  if (ec) return std::unexpected(rauc_data.string() + ": " + ec.message());
  const fs::path board_file = fs::absolute(appliance.board_file, ec);
  const fs::path dir = fs::absolute(out_dir, ec);
  const bool file_backed = appliance.board.storage().slot_a().file_backed();
  const std::string prefix = "#!/bin/sh\n# Written by sbc-boot rauc-config for RAUC.\ncd " +
                             ShellQuote(fs::current_path(ec).string()) + " || exit 1\nexec " +
                             ShellQuote(fs::absolute(sbc_boot, ec).string()) + " --board " +
                             ShellQuote(board_file.string());
  if (auto ok = WriteScript(dir, "sbc-rauc-backend", prefix + " bootloader \"$@\"\n"); !ok)
    return ok;
  if (auto ok = WriteScript(dir, "sbc-rauc-pre-install", prefix + " pre-install\n"); !ok) return ok;

  std::string conf;
  conf += "# Written by sbc-boot rauc-config from board " + appliance.board.name() + ".\n";
  conf += "[system]\ncompatible=" + RaucCompatible(appliance) + "\n";
  conf += "bootloader=custom\n";
  conf += "data-directory=" + rauc_data.string() + "\n";
  conf += "mountprefix=" + (rauc_data / "mnt").string() + "\n";
  // A file-backed (sim) board has no device-mapper for verity bundles; rack boards
  // take verity bundles only.
  conf += std::string("bundle-formats=") + (file_backed ? "plain" : "-plain verity") + "\n";
  conf += "\n[keyring]\npath=" + fs::absolute(appliance.key_store / kRaucKeyringFile, ec).string() +
          "\n";
  conf += "\n[handlers]\nbootloader-custom-backend=" + (dir / "sbc-rauc-backend").string() + "\n";
  conf += "pre-install=" + (dir / "sbc-rauc-pre-install").string() + "\n";
  int index = 0;
  for (std::string_view slot : {kSlotA, kSlotB}) {
    conf += "\n[slot.rootfs." + std::to_string(index++) + "]\n";
    conf += "device=" + fs::absolute(SlotDevice(appliance, slot), ec).string() + "\n";
    conf += "type=raw\nbootname=" + std::string(slot) + "\n";
  }
  return mgmt::base::WriteFileAtomically(dir, "system.conf", conf);
}

std::expected<std::string, std::string> RunBootloaderBackend(const Appliance& appliance,
                                                             const std::vector<std::string>& args,
                                                             int64_t now_unix) {
  if (args.empty()) return std::unexpected(std::string("bootloader: no operation given"));
  const std::string& op = args[0];
  const auto slot_argument = [&](size_t count) -> std::expected<std::string, std::string> {
    if (args.size() != count + 1)
      return std::unexpected("bootloader " + op + ": takes " + std::to_string(count) +
                             " argument(s)");
    if (!IsSlotName(args[1]))
      return std::unexpected("bootloader " + op + ": \"" + args[1] + "\" is not slot A or B");
    return args[1];
  };
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return std::unexpected(state.error());

  if (op == "get-primary") {
    const std::string primary = Primary(*state);
    if (primary.empty()) return std::unexpected(std::string("bootloader: no slot is bootable"));
    return primary + "\n";
  }
  if (op == "get-state") {
    auto slot = slot_argument(1);
    if (!slot) return std::unexpected(slot.error());
    return std::string(IsGood(*state, *slot) ? "good\n" : "bad\n");
  }
  if (op == "set-primary") {
    auto slot = slot_argument(1);
    if (!slot) return std::unexpected(slot.error());
    if (state->held_activation() == *slot) {
      // An install over the control API: the operator activates it (on trial) later.
      state->clear_held_activation();
      RecordEvent(*state, now_unix, *slot, "written by RAUC; held for activate");
    } else {
      SetPrimary(*state, *slot, appliance.boot_attempts);
      RecordEvent(*state, now_unix, *slot,
                  "made primary with " + std::to_string(appliance.boot_attempts) + " attempt(s)");
    }
    if (auto ok = SaveBootState(appliance.boot_dir, *state); !ok)
      return std::unexpected(ok.error());
    return std::string();
  }
  if (op == "set-state") {
    auto slot = slot_argument(2);
    if (!slot) return std::unexpected(slot.error());
    if (args[2] == "good") {
      auto trust = LoadTrust(appliance);
      if (!trust) return std::unexpected(trust.error());
      if (auto ok = MarkGood(appliance, *trust, *slot, now_unix); !ok)
        return std::unexpected(ok.error());
      return std::string();
    }
    if (args[2] != "bad")
      return std::unexpected("bootloader set-state: \"" + args[2] + "\" is not good or bad");
    SetGood(*state, *slot, false, 0);
    RecordEvent(*state, now_unix, *slot, "marked bad");
    if (auto ok = SaveBootState(appliance.boot_dir, *state); !ok)
      return std::unexpected(ok.error());
    return std::string();
  }
  return std::unexpected("bootloader: unknown operation \"" + op + "\"");
}

std::expected<std::string, std::string> CheckBundle(const Appliance& appliance,
                                                    const fs::path& bundle_dir) {
  auto trust = LoadTrust(appliance);
  if (!trust) return std::unexpected(trust.error());
  auto requirements = Requirements(appliance, *trust);
  if (!requirements) return std::unexpected(requirements.error());
  auto image = ReadImageFile(bundle_dir / kBundleImageName);
  if (!image)
    return std::unexpected("bundle has no " + std::string(kBundleImageName) + ": " + image.error());
  auto verified = VerifyImage(*image, trust->verifier, *requirements);
  if (!verified)
    return std::unexpected("image refused (" +
                           std::string(ImageRefusalName(verified.error().reason)) +
                           "): " + verified.error().message);
  return "image " + verified->manifest.version_name() + " (build " +
         std::to_string(verified->manifest.version()) + ", rollback index " +
         std::to_string(verified->manifest.rollback_index()) + ") verified";
}

}  // namespace sbc::firmware
