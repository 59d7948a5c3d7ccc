// Test release keys for firmware: a trust root with one CONFIG key (every trust root
// needs one) and `count` FIRMWARE keys, and helpers that build a tree of files, its
// manifest, and the image signed by chosen keys, through the real code paths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sbc/mgmt/trust/keys.h"
#include "sbc/schema/firmware.pb.h"
#include "sbc/schema/trust.pb.h"

namespace sbc::testing {

class FirmwareSigners {
 public:
  FirmwareSigners(int count, uint32_t threshold, schema::Environment environment);

  const schema::TrustRoot& root() const { return root_; }
  schema::ApplianceIdentity Identity(const std::string& serial = "SN-1") const;
  const mgmt::trust::PrivateKey& firmware_key(int i) const { return keys_[i]; }
  const mgmt::trust::PrivateKey& config_key() const { return config_key_; }

  // Writes trust-root.textproto and identity.textproto into `key_store` (mode 0700).
  void WriteKeyStore(const std::filesystem::path& key_store) const;

 private:
  schema::TrustRoot root_;
  mgmt::trust::PrivateKey config_key_;
  std::vector<mgmt::trust::PrivateKey> keys_;
};

// What an image says of itself.
struct ImageSpec {
  uint64_t version = 1;
  std::string version_name = "1.0.0";
  uint64_t rollback_index = 1;
  schema::Environment environment = schema::DEVELOPMENT;
  std::vector<std::string> boards = {"sim"};
};

// A small tree: bin/sbc-tool (0755, `marker` inside) and etc/defaults.textproto (0644).
void WriteSampleTree(const std::filesystem::path& root, const std::string& marker);

// The manifest of `root` with `spec`'s fields (DescribeTree).
schema::FirmwareManifest ManifestOf(const std::filesystem::path& root, const ImageSpec& spec);

// Envelope bytes of `manifest` signed by each key in `signers` in turn.
std::string SignManifest(const schema::FirmwareManifest& manifest,
                         const std::vector<const mgmt::trust::PrivateKey*>& signers);

// The image of `root`: its manifest with `spec`, signed by `signers`, packed.
std::string MakeImage(const std::filesystem::path& root, const ImageSpec& spec,
                      const std::vector<const mgmt::trust::PrivateKey*>& signers);

}  // namespace sbc::testing
