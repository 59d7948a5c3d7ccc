#include "firmware_commands.h"

#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "files.h"
#include "sbc/mgmt/image/image.h"
#include "sbc/mgmt/trust/envelope.h"
#include "sbc/mgmt/trust/verifier.h"
#include "sbc/schema/text_file.h"
#include "times.h"

namespace sbc::tools {
namespace {

namespace image = mgmt::image;

// The manifest envelope of `bytes`, whether they are an image or the envelope itself.
std::string_view EnvelopeOf(const std::string& bytes) {
  if (auto envelope = image::ManifestEnvelopeOf(bytes)) return *envelope;
  return bytes;
}

}  // namespace

int MakeManifest(const ManifestArgs& args) {
  if (args.version == 0) return Error(kExitInput, "--version must be at least 1");
  if (args.version_name.empty()) return Error(kExitInput, "--version-name is required");
  if (args.boards.empty()) return Error(kExitInput, "--board is required (at least one)");
  schema::Environment environment;
  std::string upper;
  for (char c : args.environment)
    upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (!schema::Environment_Parse(upper, &environment) ||
      environment == schema::ENVIRONMENT_UNSPECIFIED)
    return Error(kExitInput, "environment \"" + args.environment +
                                 "\" is not one of development, staging, production");
  auto manifest = image::DescribeTree(args.root);
  if (!manifest) return Error(kExitInput, manifest.error());
  if (manifest->files().empty()) return Error(kExitInput, args.root + ": has no files");
  manifest->set_version(args.version);
  manifest->set_version_name(args.version_name);
  manifest->set_rollback_index(args.rollback_index);
  manifest->set_environment(environment);
  for (const std::string& board : args.boards) manifest->add_boards(board);
  manifest->set_created_unix(static_cast<int64_t>(std::time(nullptr)));
  manifest->set_comment(args.comment);
  const schema::SignedEnvelope envelope =
      mgmt::trust::MakeEnvelope(image::kFirmwareManifestType, manifest->SerializeAsString());
  if (!Write(args.out, envelope.SerializeAsString()))
    return Error(kExitInput, args.out + ": cannot write");
  std::cout << "wrote unsigned firmware manifest (" << manifest->files_size() << " files) to "
            << args.out << "; sign it with: sbc-sign sign --key KEY --in " << args.out << std::endl;
  return kExitOk;
}

int MakeImage(const std::string& root, const std::string& manifest, const std::string& out) {
  auto envelope = Read(manifest);
  if (!envelope) return Error(kExitInput, envelope.error());
  schema::SignedEnvelope parsed;
  if (!parsed.ParseFromString(*envelope) || parsed.signatures().empty())
    return Error(kExitInput, manifest + ": not a signed envelope (sign it first)");
  auto packed = image::PackImage(root, *envelope);
  if (!packed) return Error(kExitInput, manifest + ": " + packed.error());
  if (!Write(out, *packed)) return Error(kExitInput, out + ": cannot write");
  std::cout << "wrote firmware image " << out << " (" << packed->size() << " bytes, "
            << parsed.signatures_size() << " signature(s))" << std::endl;
  return kExitOk;
}

bool IsFirmware(const std::string& bytes) {
  schema::SignedEnvelope envelope;
  const std::string_view envelope_bytes = EnvelopeOf(bytes);
  return envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())) &&
         envelope.payload_type() == image::kFirmwareManifestType;
}

int VerifyFirmware(const FirmwareVerifyArgs& args) {
  schema::TrustRoot root;
  if (auto ok = schema::ParseTextFile(args.trust_root, "trust root", &root); !ok)
    return Error(kExitInput, ok.error().front());
  schema::ApplianceIdentity identity;
  identity.set_environment(root.environment());
  auto verifier = mgmt::trust::Verifier::Create(root, identity);
  if (!verifier) return Error(kExitInput, args.trust_root + ": " + verifier.error());
  if (args.board.empty()) return Error(kExitInput, "--board is required for a firmware image");
  auto bytes = Read(args.in);
  if (!bytes) return Error(kExitInput, bytes.error());
  const image::ImageRequirements requirements{args.board, args.min_rollback_index};
  const bool is_image = image::ManifestEnvelopeOf(*bytes).has_value();
  if (is_image) {
    auto verified = image::VerifyImage(*bytes, *verifier, requirements);
    if (!verified)
      return Error(kExitRefused, args.in + ": refused (" +
                                     std::string(image::ImageRefusalName(verified.error().reason)) +
                                     "): " + verified.error().message);
    std::cout << args.in << ": valid firmware image " << verified->manifest.version_name()
              << " (build " << verified->manifest.version() << ", rollback index "
              << verified->manifest.rollback_index() << "), " << verified->manifest.files_size()
              << " files" << std::endl;
    return kExitOk;
  }
  auto manifest = image::VerifyManifestEnvelope(*bytes, *verifier, requirements);
  if (!manifest)
    return Error(kExitRefused, args.in + ": refused (" +
                                   std::string(image::ImageRefusalName(manifest.error().reason)) +
                                   "): " + manifest.error().message);
  std::cout << args.in << ": valid firmware manifest " << manifest->version_name() << " (build "
            << manifest->version() << "), " << manifest->files_size() << " files" << std::endl;
  return kExitOk;
}

int InspectFirmware(const std::string& in, const std::string& bytes) {
  schema::SignedEnvelope envelope;
  const std::string_view envelope_bytes = EnvelopeOf(bytes);
  schema::FirmwareManifest manifest;
  if (!envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())) ||
      !manifest.ParseFromString(envelope.payload()))
    return Error(kExitInput, in + ": payload is not a firmware manifest");
  std::cout << "payload type: " << envelope.payload_type() << "\n";
  for (const auto& sig : envelope.signatures())
    std::cout << "signature:    key " << sig.key_id() << "\n";
  if (envelope.signatures().empty()) std::cout << "signature:    (none)\n";
  std::cout << "version:      " << manifest.version_name() << " (build " << manifest.version()
            << ")\n"
            << "rollback:     " << manifest.rollback_index() << "\n"
            << "environment:  " << schema::Environment_Name(manifest.environment()) << "\n";
  for (const std::string& board : manifest.boards()) std::cout << "board:        " << board << "\n";
  std::cout << "created:      " << FormatTime(manifest.created_unix()) << "\n";
  if (!manifest.comment().empty()) std::cout << "comment:      " << manifest.comment() << "\n";
  for (const schema::FirmwareFile& file : manifest.files()) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "0%o", file.mode());
    std::cout << "file:         " << mode << " " << file.size() << " "
              << image::HexDigest(file.sha256()) << " " << file.path() << "\n";
  }
  return kExitOk;
}

}  // namespace sbc::tools
