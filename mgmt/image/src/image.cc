#include "sbc/mgmt/image/image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "sbc/mgmt/image/digest.h"

namespace sbc::mgmt::image {
namespace {

namespace fs = std::filesystem;

constexpr std::array<std::string_view, 10> kRefusalNames = {
#define SBC_IMAGE_REFUSAL_NAME(id, name) name,
    SBC_IMAGE_REFUSALS(SBC_IMAGE_REFUSAL_NAME)
#undef SBC_IMAGE_REFUSAL_NAME
};

constexpr size_t kHeaderBytes = kImageMagic.size() + 4;
constexpr size_t kMaxPathBytes = 255;

std::unexpected<ImageError> Refuse(ImageRefusal reason, std::string message) {
  return std::unexpected(ImageError{reason, std::move(message), std::nullopt});
}

std::string Errno() { return std::strerror(errno); }

// Closes on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string OctalMode(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "0%o", mode);
  return text;
}

bool ModeAllowed(uint32_t mode) { return mode == 0755 || mode == 0644; }

std::expected<void, ImageError> CheckEntries(const schema::FirmwareManifest& manifest) {
  std::set<std::string> seen;
  for (const schema::FirmwareFile& file : manifest.files()) {
    if (auto ok = CheckPath(file.path()); !ok)
      return Refuse(ImageRefusal::kBadPath, "manifest file \"" + file.path() + "\": " + ok.error());
    if (!seen.insert(file.path()).second)
      return Refuse(ImageRefusal::kBadPath, "manifest lists " + file.path() + " twice");
    if (file.sha256().size() != 32)
      return Refuse(ImageRefusal::kMalformed, "manifest file " + file.path() + ": sha256 is " +
                                                  std::to_string(file.sha256().size()) +
                                                  " bytes, not 32");
    if (!ModeAllowed(file.mode()))
      return Refuse(ImageRefusal::kBadPath, "manifest file " + file.path() + ": mode " +
                                                OctalMode(file.mode()) +
                                                " is neither 0755 nor 0644");
  }
  // A slash-separated path that is also another entry's directory cannot be both.
  for (const std::string& path : seen)
    if (auto it = seen.lower_bound(path + "/"); it != seen.end() && it->starts_with(path + "/"))
      return Refuse(ImageRefusal::kBadPath,
                    "manifest lists " + path + " as a file and as a directory of " + *it);
  return {};
}

uint32_t BigEndian32(std::string_view bytes) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::expected<void, ImageError> WriteAll(int fd, std::string_view bytes, const fs::path& file) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Refuse(ImageRefusal::kStorage, file.string() + ": write failed: " + Errno());
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Every entry under `root` but directories, as '/'-separated paths relative to it with
// their own status (links not followed), in the order the walk finds them.
std::expected<std::vector<std::pair<std::string, fs::file_status>>, std::string> ListTree(
    const fs::path& root) {
  std::vector<std::pair<std::string, fs::file_status>> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_directory(status)) continue;
    entries.emplace_back(fs::relative(it->path(), root, ec).generic_string(), status);
  }
  if (ec) return std::unexpected(root.string() + ": " + ec.message());
  return entries;
}

}  // namespace

std::string_view ImageRefusalName(ImageRefusal reason) {
  return kRefusalNames[static_cast<size_t>(reason)];
}

std::string HexDigest(std::string_view digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(digest.size() * 2);
  for (unsigned char c : digest) {
    text.push_back(kHex[c >> 4]);
    text.push_back(kHex[c & 15]);
  }
  return text;
}

std::expected<void, std::string> CheckPath(std::string_view path) {
  if (path.empty()) return std::unexpected(std::string("is empty"));
  if (path.size() > kMaxPathBytes)
    return std::unexpected("is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  for (char c : path)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("._-+/").find(c) == std::string_view::npos)
      return std::unexpected(std::string("has a character other than letters, digits and ._-+/"));
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) return std::unexpected(std::string("has an empty part (absolute or //)"));
    if (part == "." || part == "..") return std::unexpected(std::string("has a . or .. part"));
    start = end + 1;
  }
  return {};
}

std::expected<schema::FirmwareManifest, std::string> DescribeTree(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return std::unexpected(root.string() + ": not a directory");
  auto tree = ListTree(root);
  if (!tree) return std::unexpected(tree.error());
  std::vector<std::string> paths;
  for (const auto& [relative, status] : *tree) {
    if (!fs::is_regular_file(status))
      return std::unexpected(relative + ": not a regular file (links have no place in an image)");
    if (auto ok = CheckPath(relative); !ok) return std::unexpected(relative + ": " + ok.error());
    paths.push_back(relative);
  }
  std::sort(paths.begin(), paths.end());

  schema::FirmwareManifest manifest;
  for (const std::string& path : paths) {
    const fs::path file = root / path;
    Fd fd(open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return std::unexpected(file.string() + ": " + Errno());
    struct stat st {};
    if (fstat(fd.get(), &st) != 0) return std::unexpected(file.string() + ": " + Errno());
    auto digest = Sha256OfFd(fd.get());
    if (!digest) return std::unexpected(file.string() + ": " + digest.error());
    schema::FirmwareFile* entry = manifest.add_files();
    entry->set_path(path);
    entry->set_sha256(digest->sha256);
    entry->set_size(digest->size);
    entry->set_mode((st.st_mode & S_IXUSR) != 0 ? 0755 : 0644);
  }
  return manifest;
}

std::expected<std::string, std::string> PackImage(const fs::path& root,
                                                  std::string_view envelope_bytes) {
  schema::SignedEnvelope envelope;
  schema::FirmwareManifest manifest;
  if (!envelope.ParseFromArray(envelope_bytes.data(), static_cast<int>(envelope_bytes.size())) ||
      envelope.payload_type() != kFirmwareManifestType ||
      !manifest.ParseFromString(envelope.payload()))
    return std::unexpected(std::string("not a firmware manifest envelope"));
  if (envelope_bytes.size() > kMaxEnvelopeBytes)
    return std::unexpected("manifest envelope is larger than " + std::to_string(kMaxEnvelopeBytes) +
                           " bytes");
  if (auto ok = CheckEntries(manifest); !ok) return std::unexpected(ok.error().message);
  if (auto ok = VerifyTree(root, manifest); !ok)
    return std::unexpected("the tree is not what the manifest lists: " + ok.error().message);

  std::string image(kImageMagic);
  const auto length = static_cast<uint32_t>(envelope_bytes.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    image.push_back(static_cast<char>((length >> shift) & 0xff));
  image.append(envelope_bytes);
  for (const schema::FirmwareFile& file : manifest.files()) {
    Fd fd(open((root / file.path()).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return std::unexpected((root / file.path()).string() + ": " + Errno());
    const size_t start = image.size();
    image.resize(start + file.size());
    size_t done = 0;
    while (done < file.size()) {
      const ssize_t n = read(fd.get(), image.data() + start + done, file.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::unexpected(file.path() + ": changed while it was packed");
      done += static_cast<size_t>(n);
    }
    if (Sha256(std::string_view(image).substr(start, file.size())) != file.sha256())
      return std::unexpected(file.path() + ": changed while it was packed");
  }
  return image;
}

std::expected<std::string_view, ImageError> ManifestEnvelopeOf(std::string_view image) {
  if (image.size() < kHeaderBytes || image.substr(0, kImageMagic.size()) != kImageMagic)
    return Refuse(ImageRefusal::kMalformed, "not a firmware image (no SBCFWIM1 header)");
  const uint32_t length = BigEndian32(image.substr(kImageMagic.size(), 4));
  if (length == 0 || length > kMaxEnvelopeBytes || length > image.size() - kHeaderBytes)
    return Refuse(ImageRefusal::kMalformed, "firmware image header gives a manifest of " +
                                                std::to_string(length) + " bytes, the image has " +
                                                std::to_string(image.size() - kHeaderBytes));
  return image.substr(kHeaderBytes, length);
}

std::expected<schema::FirmwareManifest, ImageError> VerifyManifestEnvelope(
    std::string_view envelope_bytes, const mgmt::trust::Verifier& verifier,
    const ImageRequirements& requirements) {
  auto envelope =
      verifier.VerifySignatures(envelope_bytes, kFirmwareManifestType, schema::FIRMWARE);
  if (!envelope)
    return std::unexpected(ImageError{ImageRefusal::kSignature,
                                      "manifest signature refused (" +
                                          std::string(RejectionName(envelope.error().reason)) +
                                          "): " + envelope.error().message,
                                      envelope.error().reason});
  schema::FirmwareManifest manifest;
  if (!manifest.ParseFromString(envelope->payload()))
    return Refuse(ImageRefusal::kMalformed, "signed payload is not a firmware manifest");
  const std::string image =
      "image " + manifest.version_name() + " (build " + std::to_string(manifest.version()) + ")";
  const schema::Environment ours = verifier.identity().environment();
  if (manifest.environment() != ours)
    return Refuse(ImageRefusal::kWrongEnvironment,
                  image + " is a " + schema::Environment_Name(manifest.environment()) +
                      " image, this appliance is " + schema::Environment_Name(ours));
  if (std::find(manifest.boards().begin(), manifest.boards().end(), requirements.board) ==
      manifest.boards().end()) {
    std::string boards;
    for (const std::string& board : manifest.boards())
      boards += (boards.empty() ? "" : ", ") + board;
    return Refuse(
        ImageRefusal::kWrongBoard,
        image + " is for boards [" + boards + "], this appliance is board " + requirements.board);
  }
  if (manifest.rollback_index() < requirements.min_rollback_index)
    return Refuse(ImageRefusal::kRollbackIndexTooLow,
                  image + " has anti-rollback index " + std::to_string(manifest.rollback_index()) +
                      ", this appliance has committed index " +
                      std::to_string(requirements.min_rollback_index));
  if (manifest.files().empty()) return Refuse(ImageRefusal::kMalformed, image + " lists no files");
  if (auto ok = CheckEntries(manifest); !ok) return std::unexpected(ok.error());
  return manifest;
}

std::expected<VerifiedManifest, ImageError> VerifyImage(std::string_view image,
                                                        const mgmt::trust::Verifier& verifier,
                                                        const ImageRequirements& requirements) {
  auto envelope = ManifestEnvelopeOf(image);
  if (!envelope) return std::unexpected(envelope.error());
  auto manifest = VerifyManifestEnvelope(*envelope, verifier, requirements);
  if (!manifest) return std::unexpected(manifest.error());
  VerifiedManifest verified{std::move(*manifest), std::string(*envelope),
                            kHeaderBytes + envelope->size()};
  size_t offset = verified.files_offset;
  for (const schema::FirmwareFile& file : verified.manifest.files()) {
    if (file.size() > image.size() - offset)
      return Refuse(ImageRefusal::kFileMissing, file.path() + ": the image ends before its " +
                                                    std::to_string(file.size()) +
                                                    " bytes (truncated image)");
    if (Sha256(image.substr(offset, file.size())) != file.sha256())
      return Refuse(ImageRefusal::kFileChanged,
                    file.path() + ": SHA-256 differs from the signed manifest's");
    offset += file.size();
  }
  return verified;
}

std::expected<void, ImageError> UnpackImage(std::string_view image,
                                            const VerifiedManifest& verified, const fs::path& dir) {
  if (mkdir(dir.c_str(), 0755) != 0)
    return Refuse(ImageRefusal::kStorage, dir.string() + ": cannot create: " + Errno());
  size_t offset = verified.files_offset;
  for (const schema::FirmwareFile& file : verified.manifest.files()) {
    const fs::path target = dir / file.path();
    // Parents are made here, one part at a time and never through a link: the paths
    // were checked, and the directory is new, so nothing else placed one.
    fs::path parent = dir;
    for (const fs::path& part : fs::path(file.path()).parent_path()) {
      parent /= part;
      if (mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
        return Refuse(ImageRefusal::kStorage, parent.string() + ": cannot create: " + Errno());
    }
    Fd fd(open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
               static_cast<mode_t>(file.mode())));
    if (fd.get() < 0)
      return Refuse(ImageRefusal::kStorage, target.string() + ": cannot create: " + Errno());
    if (auto ok = WriteAll(fd.get(), image.substr(offset, file.size()), target); !ok) return ok;
    // The umask may have taken bits the manifest gives.
    if (fchmod(fd.get(), static_cast<mode_t>(file.mode())) != 0)
      return Refuse(ImageRefusal::kStorage, target.string() + ": chmod failed: " + Errno());
    offset += file.size();
  }
  return {};
}

std::expected<void, ImageError> VerifyFile(const fs::path& file,
                                           const schema::FirmwareFile& entry) {
  Fd fd(open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0)
    return Refuse(errno == ENOENT ? ImageRefusal::kFileMissing : ImageRefusal::kFileChanged,
                  entry.path() + ": cannot open: " + Errno());
  return VerifyOpenFile(fd.get(), entry);
}

std::expected<void, ImageError> VerifyOpenFile(int fd, const schema::FirmwareFile& entry) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return Refuse(ImageRefusal::kFileChanged, entry.path() + ": not a regular file");
  if ((st.st_mode & 07777) != entry.mode())
    return Refuse(ImageRefusal::kFileChanged,
                  entry.path() + ": mode " + OctalMode(st.st_mode & 07777) +
                      ", the signed manifest says " + OctalMode(entry.mode()));
  auto digest = Sha256OfFd(fd);
  if (!digest) return Refuse(ImageRefusal::kStorage, entry.path() + ": " + digest.error());
  if (digest->size != entry.size())
    return Refuse(ImageRefusal::kFileChanged, entry.path() + ": " + std::to_string(digest->size) +
                                                  " bytes, the signed manifest says " +
                                                  std::to_string(entry.size()));
  if (digest->sha256 != entry.sha256())
    return Refuse(ImageRefusal::kFileChanged, entry.path() + ": SHA-256 " +
                                                  HexDigest(digest->sha256).substr(0, 16) +
                                                  "... differs from the signed manifest's " +
                                                  HexDigest(entry.sha256()).substr(0, 16) + "...");
  return {};
}

std::expected<void, ImageError> VerifyTree(const fs::path& root,
                                           const schema::FirmwareManifest& manifest) {
  std::set<std::string> listed;
  for (const schema::FirmwareFile& entry : manifest.files()) {
    if (auto ok = VerifyFile(root / entry.path(), entry); !ok) return ok;
    listed.insert(entry.path());
  }
  auto tree = ListTree(root);
  if (!tree) return Refuse(ImageRefusal::kStorage, tree.error());
  for (const auto& [relative, status] : *tree)
    if (!listed.contains(relative))
      return Refuse(ImageRefusal::kExtraFile,
                    relative + ": present in the slot but not in the signed manifest");
  return {};
}

}  // namespace sbc::mgmt::image
