#include "support/firmware_signing.h"

#include <google/protobuf/text_format.h>
#include <sys/stat.h>

#include <fstream>
#include <stdexcept>

#include "sbc/mgmt/image/image.h"
#include "sbc/mgmt/trust/envelope.h"

namespace sbc::testing {
namespace {

namespace fs = std::filesystem;

mgmt::trust::PrivateKey NewKey() {
  auto key = mgmt::trust::PrivateKey::Generate(mgmt::trust::Curve::kP256);
  if (!key) throw std::runtime_error(key.error());
  return std::move(*key);
}

void AddKey(schema::TrustRoot& root, const mgmt::trust::PrivateKey& key, schema::KeyRole role) {
  schema::TrustedKey* entry = root.add_keys();
  entry->set_key_id(key.KeyId());
  entry->set_public_key_pem(key.PublicKeyPem());
  entry->set_role(role);
}

void WriteText(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error(file.string() + ": cannot write");
}

}  // namespace

FirmwareSigners::FirmwareSigners(int count, uint32_t threshold, schema::Environment environment)
    : config_key_(NewKey()) {
  root_.set_environment(environment);
  AddKey(root_, config_key_, schema::CONFIG);
  for (int i = 0; i < count; ++i) {
    keys_.push_back(NewKey());
    AddKey(root_, keys_.back(), schema::FIRMWARE);
  }
  auto* config = root_.add_thresholds();
  config->set_role(schema::CONFIG);
  config->set_threshold(1);
  auto* firmware = root_.add_thresholds();
  firmware->set_role(schema::FIRMWARE);
  firmware->set_threshold(threshold);
}

schema::ApplianceIdentity FirmwareSigners::Identity(const std::string& serial) const {
  schema::ApplianceIdentity identity;
  identity.set_serial(serial);
  identity.set_environment(root_.environment());
  return identity;
}

void FirmwareSigners::WriteKeyStore(const fs::path& key_store) const {
  fs::create_directories(key_store);
  chmod(key_store.c_str(), 0700);
  std::string text;
  google::protobuf::TextFormat::PrintToString(root_, &text);
  WriteText(key_store / "trust-root.textproto", text);
  google::protobuf::TextFormat::PrintToString(Identity(), &text);
  WriteText(key_store / "identity.textproto", text);
}

void WriteSampleTree(const fs::path& root, const std::string& marker) {
  fs::create_directories(root / "bin");
  fs::create_directories(root / "etc");
  WriteText(root / "bin/sbc-tool", "#!/bin/sh\necho " + marker + "\n");
  chmod((root / "bin/sbc-tool").c_str(), 0755);
  WriteText(root / "etc/defaults.textproto", "# defaults of " + marker + "\n");
  chmod((root / "etc/defaults.textproto").c_str(), 0644);
}

schema::FirmwareManifest ManifestOf(const fs::path& root, const ImageSpec& spec) {
  auto manifest = mgmt::image::DescribeTree(root);
  if (!manifest) throw std::runtime_error(manifest.error());
  manifest->set_version(spec.version);
  manifest->set_version_name(spec.version_name);
  manifest->set_rollback_index(spec.rollback_index);
  manifest->set_environment(spec.environment);
  for (const std::string& board : spec.boards) manifest->add_boards(board);
  return *manifest;
}

std::string SignManifest(const schema::FirmwareManifest& manifest,
                         const std::vector<const mgmt::trust::PrivateKey*>& signers) {
  schema::SignedEnvelope envelope =
      mgmt::trust::MakeEnvelope(mgmt::image::kFirmwareManifestType, manifest.SerializeAsString());
  for (const mgmt::trust::PrivateKey* key : signers)
    if (!mgmt::trust::AddSignature(envelope, *key)) throw std::runtime_error("signing failed");
  return envelope.SerializeAsString();
}

std::string MakeImage(const fs::path& root, const ImageSpec& spec,
                      const std::vector<const mgmt::trust::PrivateKey*>& signers) {
  auto image = mgmt::image::PackImage(root, SignManifest(ManifestOf(root, spec), signers));
  if (!image) throw std::runtime_error(image.error());
  return *image;
}

}  // namespace sbc::testing
