// sbc-sign's firmware subcommands: a manifest of an image's files, the image packed
// around its signed manifest, and verifying or inspecting either. Signing itself is
// the `sign` command, the same for every envelope.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sbc::tools {

struct ManifestArgs {
  std::string root;  // the image's files
  uint64_t version = 0;
  std::string version_name;
  uint64_t rollback_index = 0;
  std::vector<std::string> boards;
  std::string environment;
  std::string comment;
  std::string out;
};
int MakeManifest(const ManifestArgs& args);

int MakeImage(const std::string& root, const std::string& manifest, const std::string& out);

struct FirmwareVerifyArgs {
  std::string trust_root;
  std::string in;  // a manifest envelope or an image
  std::string board;
  uint64_t min_rollback_index = 0;
};
int VerifyFirmware(const FirmwareVerifyArgs& args);

// True when `bytes` is a firmware image or manifest envelope (verify and inspect pick
// their path by it).
bool IsFirmware(const std::string& bytes);
int InspectFirmware(const std::string& in, const std::string& bytes);

}  // namespace sbc::tools
