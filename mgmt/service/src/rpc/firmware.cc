// Firmware over the control API: an image uploaded in chunks (resumable: staged under
// upload_dir, named by its SHA-256 and size), installed by sbc-boot to the inactive
// slot once complete, then activated, committed or reverted. sbc-boot owns the slots
// and the boot state and checks every image itself; this side stages bytes, checks that
// they are the bytes announced, and audits each step with what sbc-boot says it did.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/image/digest.h"
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxChunkBytes = 1u << 20;
// No slot of any board holds more; a larger announcement is refused before a byte.
constexpr uint64_t kMaxImageBytes = uint64_t{1} << 30;
constexpr char kStagedImage[] = "upload.img";
constexpr char kStagedAnnouncement[] = "upload.meta";  // a FirmwareUpload without data

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// "sha256:1a2b3c4d5e6f7a8b" (the first 8 bytes): enough to tell uploads apart in a log.
std::string ShortName(std::string_view sha256) { return "sha256:" + Hex(sha256.substr(0, 8)); }

BootLink* BootOf(ServiceState& state) {
  std::lock_guard lock(state.mutex);
  return state.boot;
}

fs::path UploadDirOf(ServiceState& state) {
  std::lock_guard lock(state.mutex);
  return state.upload_dir;
}

// The upload staged now, if any: what was announced, and how many of its bytes are held.
struct Staged {
  schema::FirmwareUpload announced;
  uint64_t held = 0;
};

std::optional<Staged> LoadStaged(const fs::path& dir) {
  auto meta = base::ReadFile(dir / kStagedAnnouncement);
  Staged staged;
  if (!meta || !staged.announced.ParseFromString(*meta)) return std::nullopt;
  std::error_code ec;
  const uint64_t size = fs::file_size(dir / kStagedImage, ec);
  if (ec) return std::nullopt;
  // A crash between the append and its sync may leave more than was acknowledged; the
  // whole-image SHA-256 at the end catches anything wrong, so keeping it is safe.
  staged.held = std::min(size, staged.announced.image_size());
  return staged;
}

void DropStaged(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / kStagedAnnouncement, ec);
  fs::remove(dir / kStagedImage, ec);
}

void SetUploadFields(schema::Response& r, const std::optional<Staged>& staged) {
  if (!staged) return;
  r.set_firmware_upload_offset(staged->held);
  r.set_firmware_upload_sha256(staged->announced.image_sha256());
  r.set_firmware_upload_size(staged->announced.image_size());
}

std::expected<void, std::string> StartUpload(const fs::path& dir,
                                             const schema::FirmwareUpload& args) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return std::unexpected(dir.string() + ": " + ec.message());
  fs::permissions(dir, fs::perms::owner_all, ec);
  DropStaged(dir);
  const int fd = open((dir / kStagedImage).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(errno));
  close(fd);
  schema::FirmwareUpload announced;
  announced.set_image_sha256(args.image_sha256());
  announced.set_image_size(args.image_size());
  // The announcement last: without it the empty image file is no upload.
  return base::WriteFileAtomically(dir, kStagedAnnouncement, announced.SerializeAsString());
}

std::expected<void, std::string> Append(const fs::path& dir, uint64_t offset,
                                        std::string_view data) {
  const int fd = open((dir / kStagedImage).c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(errno));
  // At the offset acknowledged, not the file's end: bytes past it (written, never
  // acknowledged) are overwritten.
  if (ftruncate(fd, static_cast<off_t>(offset)) != 0) {
    const int saved = errno;
    close(fd);
    return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(saved));
  }
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      close(fd);
      return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(saved));
    }
    done += static_cast<size_t>(n);
  }
  // Acknowledged bytes survive a power cut: a resume starts after them.
  const bool synced = fdatasync(fd) == 0;
  const int saved = errno;
  close(fd);
  if (!synced) return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(saved));
  return {};
}

std::expected<std::string, std::string> StagedDigest(const fs::path& dir) {
  const int fd = open((dir / kStagedImage).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(std::string(kStagedImage) + ": " + std::strerror(errno));
  auto digest = image::Sha256OfFd(fd);
  close(fd);
  if (!digest) return std::unexpected(digest.error());
  return digest->sha256;
}

// A boot request's reply as the RPC's: its status, and its error as REFUSED (sbc-boot
// refused the step) or FAILED (sbc-boot could not be asked).
schema::Response AskBoot(ServiceState& state, const schema::BootRequest& request,
                         std::string* detail) {
  BootLink* boot = BootOf(state);
  if (boot == nullptr)
    return Result(schema::FAILED, "firmware: this appliance was not started by sbc-boot");
  auto reply = boot->Call(request);
  if (!reply) return Result(schema::FAILED, "firmware: " + reply.error());
  schema::Response r = reply->ok() ? Result(schema::OK) : Result(schema::REFUSED, reply->error());
  *r.mutable_firmware() = reply->status();
  r.set_text(reply->detail());
  if (reply->ok()) *detail = reply->detail();
  return r;
}

schema::Response Upload(ServiceState& state, const schema::FirmwareUpload& args,
                        std::string* detail) {
  if (args.image_sha256().size() != 32)
    return Result(schema::REFUSED, "firmware upload: image_sha256 must be 32 bytes");
  if (args.image_size() == 0 || args.image_size() > kMaxImageBytes)
    return Result(schema::REFUSED, "firmware upload: the image size must be 1 byte to 1 GiB, not " +
                                       std::to_string(args.image_size()));
  if (args.data().size() > kMaxChunkBytes)
    return Result(schema::REFUSED, "firmware upload: a chunk holds at most 1 MiB");
  if (args.offset() > args.image_size() || args.data().size() > args.image_size() - args.offset())
    return Result(schema::REFUSED, "firmware upload: the chunk ends past the image's size");
  const fs::path dir = UploadDirOf(state);
  if (dir.empty()) return Result(schema::FAILED, "firmware: no upload directory is configured");

  std::lock_guard upload(state.upload_mutex);
  std::optional<Staged> staged = LoadStaged(dir);
  const bool same = staged && staged->announced.image_sha256() == args.image_sha256() &&
                    staged->announced.image_size() == args.image_size();
  if (!same) {
    if (args.offset() != 0) {
      schema::Response r =
          Result(schema::REFUSED, "firmware upload: no upload of " +
                                      ShortName(args.image_sha256()) + " is held; start at 0");
      SetUploadFields(r, staged);
      return r;
    }
    // A new image replaces whatever upload was held (one upload at a time).
    if (auto started = StartUpload(dir, args); !started)
      return Result(schema::FAILED, "firmware upload: " + started.error());
    staged = Staged{args, 0};
    staged->announced.clear_offset();
    staged->announced.clear_data();
  } else if (args.offset() != staged->held) {
    schema::Response r =
        Result(schema::REFUSED, "firmware upload: resume at byte " + std::to_string(staged->held) +
                                    ", not " + std::to_string(args.offset()));
    SetUploadFields(r, staged);
    return r;
  }
  if (!args.data().empty()) {
    if (auto appended = Append(dir, args.offset(), args.data()); !appended)
      return Result(schema::FAILED, "firmware upload: " + appended.error());
    staged->held = args.offset() + args.data().size();
  }
  const std::string name = ShortName(args.image_sha256());
  if (staged->held < args.image_size()) {
    schema::Response r = Result(schema::OK);
    SetUploadFields(r, staged);
    *detail = "firmware upload " + name + ": " + std::to_string(staged->held) + " of " +
              std::to_string(args.image_size()) + " bytes";
    return r;
  }

  // Complete: the bytes announced, then sbc-boot's own checks and the install.
  auto digest = StagedDigest(dir);
  if (!digest) return Result(schema::FAILED, "firmware upload: " + digest.error());
  if (*digest != args.image_sha256()) {
    DropStaged(dir);
    return Result(schema::REFUSED, "firmware upload: the image received has SHA-256 " +
                                       ShortName(*digest) + ", not the " + name +
                                       " announced; upload it again");
  }
  schema::BootRequest install;
  install.set_install(fs::absolute(dir / kStagedImage).string());
  schema::Response r = AskBoot(state, install, detail);
  // Installed or refused (with its reason), the upload is done; only when sbc-boot
  // could not be asked is it kept, so that the last chunk can be sent again.
  if (r.outcome() == schema::FAILED) {
    SetUploadFields(r, staged);
  } else {
    DropStaged(dir);
    if (r.outcome() == schema::OK) *detail = "firmware upload " + name + ": " + *detail;
  }
  return r;
}

schema::Response Status(ServiceState& state, std::string* detail) {
  schema::BootRequest request;
  request.set_status(true);
  schema::Response r = AskBoot(state, request, detail);
  const fs::path dir = UploadDirOf(state);
  if (!dir.empty()) {
    std::lock_guard upload(state.upload_mutex);
    SetUploadFields(r, LoadStaged(dir));
  }
  detail->clear();  // the row's text: a read changes nothing
  return r;
}

template <void (schema::BootRequest::*Set)(bool)>
schema::Response Step(ServiceState& state, std::string* detail) {
  schema::BootRequest request;
  (request.*Set)(true);
  return AskBoot(state, request, detail);
}

constexpr uint32_t kSecurityAdmin = RoleBit(schema::SECURITY_ADMIN);
constexpr uint32_t kReaders = RoleBit(schema::SECURITY_ADMIN) | RoleBit(schema::AUDITOR);

constexpr RpcRow kRows[] = {
    {schema::FIRMWARE_STATUS, kReaders, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_status, Status>, "read the firmware status"},
    {schema::FIRMWARE_UPLOAD, kSecurityAdmin, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_upload, Upload>, "firmware upload"},
    {schema::FIRMWARE_ACTIVATE, kSecurityAdmin, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_activate, Step<&schema::BootRequest::set_activate>>,
     "activated the installed slot"},
    {schema::FIRMWARE_COMMIT, kSecurityAdmin, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_commit, Step<&schema::BootRequest::set_commit>>,
     "committed the running slot"},
    {schema::FIRMWARE_REVERT, kSecurityAdmin, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_revert, Step<&schema::BootRequest::set_revert>>,
     "reverted to the other slot"},
    {schema::FIRMWARE_VERIFY, kReaders, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::firmware_verify, Step<&schema::BootRequest::set_verify>>,
     "ran the integrity check"},
};

}  // namespace

std::span<const RpcRow> FirmwareRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
