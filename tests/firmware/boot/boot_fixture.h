// A sim appliance in a temp directory for sbc-boot's tests: the sim board with its
// data_dir moved there, a key store with test release keys, and images v1/v2 built
// from small trees.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "sbc/firmware/boot.h"
#include "sbc/firmware/boot_state.h"
#include "support/firmware_signing.h"
#include "support/temp_dir.h"

namespace sbc::firmware {

class SimAppliance {
 public:
  explicit SimAppliance(schema::Environment environment = schema::DEVELOPMENT)
      : signers_(2, 1, environment) {
    std::ifstream in(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
    std::stringstream text;
    text << in.rdbuf();
    board_file_ = dir_.path() / "sim.textproto";
    std::ofstream(board_file_) << std::regex_replace(
        text.str(), std::regex("data_dir: \"var/sim\""),
        "data_dir: \"" + (dir_.path() / "var").string() + "\"");
    auto appliance = LoadAppliance(board_file_);
    if (!appliance) throw std::runtime_error(appliance.error());
    appliance_ = std::move(*appliance);
    signers_.WriteKeyStore(appliance_.key_store);
  }

  const Appliance& appliance() const { return appliance_; }
  const std::filesystem::path& board_file() const { return board_file_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const testing::FirmwareSigners& signers() const { return signers_; }

  TrustContext Trust() const {
    auto trust = LoadTrust(appliance_);
    if (!trust) throw std::runtime_error(trust.error());
    return std::move(*trust);
  }

  // An image whose tool prints `name`, signed by the first release key.
  std::string Image(const std::string& name, uint64_t rollback_index,
                    std::vector<std::string> boards = {"sim"}) const {
    const std::filesystem::path root = dir_.path() / ("tree-" + name);
    std::filesystem::remove_all(root);
    testing::WriteSampleTree(root, name);
    return testing::MakeImage(root,
                              {.version = rollback_index,
                               .version_name = name,
                               .rollback_index = rollback_index,
                               .environment = signers_.root().environment(),
                               .boards = std::move(boards)},
                              {&signers_.firmware_key(0)});
  }

  // Factory flashing: `image` into `slot`, and a boot state making it primary.
  void Flash(std::string_view slot, const std::string& image, bool primary = true) const {
    auto flashed = FlashSlot(appliance_, Trust(), slot, image);
    if (!flashed) throw std::runtime_error(flashed.error());
    std::filesystem::create_directories(appliance_.boot_dir);
    auto state = LoadBootState(appliance_.boot_dir);
    schema::BootState next = state ? *state : InitialBootState(slot, appliance_.boot_attempts);
    if (state && primary) SetPrimary(next, slot, appliance_.boot_attempts);
    if (!SaveBootState(appliance_.boot_dir, next)) throw std::runtime_error("boot state");
  }

  schema::BootState State() const {
    auto state = LoadBootState(appliance_.boot_dir);
    if (!state) throw std::runtime_error(state.error());
    return *state;
  }

 private:
  testing::ScopedTempDir dir_;
  testing::FirmwareSigners signers_;
  std::filesystem::path board_file_;
  Appliance appliance_;
};

}  // namespace sbc::firmware
