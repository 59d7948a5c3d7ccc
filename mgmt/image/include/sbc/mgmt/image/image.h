// Firmware images: files plus the signed manifest that names every one of them.
//
// On the wire (and in a raw A/B slot) an image is
//   "SBCFWIM1" | u32 big-endian envelope length | SignedEnvelope | file bytes...
// where the file bytes follow in the manifest's order with the manifest's sizes.
// Nothing but the signed manifest says where a file starts or what it is called, so
// an image is checked by verifying the envelope first and then hashing each slice.
//
// Verification fails closed and each refusal has its own reason and one-line message.
// Every function here may be called from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "sbc/mgmt/trust/verifier.h"
#include "sbc/schema/firmware.pb.h"

namespace sbc::mgmt::image {

inline constexpr std::string_view kFirmwareManifestType =
    "application/vnd.sbc.firmware-manifest.v1+protobuf";
inline constexpr std::string_view kImageMagic = "SBCFWIM1";
// A manifest of a few thousand files is tens of KiB; anything near this is garbage.
inline constexpr uint32_t kMaxEnvelopeBytes = 1u << 20;

#define SBC_IMAGE_REFUSALS(X)                       \
  X(kMalformed, "malformed")                        \
  X(kSignature, "signature")                        \
  X(kWrongEnvironment, "wrong_environment")         \
  X(kWrongBoard, "wrong_board")                     \
  X(kRollbackIndexTooLow, "rollback_index_too_low") \
  X(kBadPath, "bad_path")                           \
  X(kFileMissing, "file_missing")                   \
  X(kFileChanged, "file_changed")                   \
  X(kExtraFile, "extra_file")                       \
  X(kStorage, "storage_error")

enum class ImageRefusal {
#define SBC_IMAGE_REFUSAL_ENUM(id, name) id,
  SBC_IMAGE_REFUSALS(SBC_IMAGE_REFUSAL_ENUM)
#undef SBC_IMAGE_REFUSAL_ENUM
};

[[nodiscard]] std::string_view ImageRefusalName(ImageRefusal reason);

struct ImageError {
  ImageRefusal reason;
  std::string message;  // one line, names the file or field and what was wrong
  // For kSignature: the trust check that refused (unknown key, threshold, ...).
  std::optional<mgmt::trust::Rejection> signature_reason;
};

// What this appliance requires of an image beyond its signatures.
struct ImageRequirements {
  std::string board;                // the board's name: must be among the manifest's boards
  uint64_t min_rollback_index = 0;  // the key store's committed index
};

// A manifest whose signatures and requirements were checked, with where the file
// bytes start in the image it came from.
struct VerifiedManifest {
  schema::FirmwareManifest manifest;
  std::string envelope;     // the exact envelope bytes that verified
  size_t files_offset = 0;  // offset of the first file's bytes in the image
};

// --- the builder's side (sbc-sign, the image targets) ---

// Every regular file under `root`, sorted by path, with its SHA-256, size and mode
// (0755 if its owner may execute it, else 0644). Refuses links and other non-regular
// files, and paths ParsePath would refuse. The manifest's other fields are left unset.
[[nodiscard]] std::expected<schema::FirmwareManifest, std::string> DescribeTree(
    const std::filesystem::path& root);

// The image: `envelope_bytes` (a signed manifest envelope) and the files of `root`,
// which must match the manifest exactly (VerifyTree). Does not check signatures.
[[nodiscard]] std::expected<std::string, std::string> PackImage(const std::filesystem::path& root,
                                                                std::string_view envelope_bytes);

// --- the appliance's side (the RAUC install hook, sbc-boot) ---

// The manifest envelope of `image` (its header), without checking it.
[[nodiscard]] std::expected<std::string_view, ImageError> ManifestEnvelopeOf(
    std::string_view image);

// Checks a manifest envelope: FIRMWARE signatures to the trust root's threshold, the
// appliance's environment, its board, the rollback index, and every file entry's path,
// size and mode.
[[nodiscard]] std::expected<schema::FirmwareManifest, ImageError> VerifyManifestEnvelope(
    std::string_view envelope_bytes, const mgmt::trust::Verifier& verifier,
    const ImageRequirements& requirements);

// VerifyManifestEnvelope on the image's header, then the SHA-256 of every file's
// bytes; refuses bytes missing at the end.
[[nodiscard]] std::expected<VerifiedManifest, ImageError> VerifyImage(
    std::string_view image, const mgmt::trust::Verifier& verifier,
    const ImageRequirements& requirements);

// Writes the files of a verified image under `dir`, which must not exist yet (its
// parent must), with the manifest's modes; never follows a link.
[[nodiscard]] std::expected<void, ImageError> UnpackImage(std::string_view image,
                                                          const VerifiedManifest& verified,
                                                          const std::filesystem::path& dir);

// The tree under `root` is exactly the manifest's files: each present, a regular file
// (not a link), of its size, mode and SHA-256, and no other file. The runtime
// integrity check and the packer both use it.
[[nodiscard]] std::expected<void, ImageError> VerifyTree(const std::filesystem::path& root,
                                                         const schema::FirmwareManifest& manifest);

// One file against its manifest entry (what VerifyTree does per file).
[[nodiscard]] std::expected<void, ImageError> VerifyFile(const std::filesystem::path& file,
                                                         const schema::FirmwareFile& entry);

// The same check of a file already open (its offset at the start), e.g. a running
// process's /proc/<pid>/exe, which O_NOFOLLOW cannot open.
[[nodiscard]] std::expected<void, ImageError> VerifyOpenFile(int fd,
                                                             const schema::FirmwareFile& entry);

// A manifest path: relative, '/'-separated, no empty, "." or ".." parts, at most 255
// bytes, letters, digits and "._-+" only. Returns an error naming what is wrong.
[[nodiscard]] std::expected<void, std::string> CheckPath(std::string_view path);

// Lower-case hex of a 32-byte digest, for messages and listings.
[[nodiscard]] std::string HexDigest(std::string_view digest);

}  // namespace sbc::mgmt::image
