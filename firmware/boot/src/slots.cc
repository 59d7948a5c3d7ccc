#include "sbc/firmware/slots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/trust/text_files.h"

namespace sbc::firmware {

namespace fs = std::filesystem;

std::expected<Appliance, std::string> LoadAppliance(const fs::path& board_file) {
  auto loaded = board::LoadBoard(board_file);
  if (!loaded) {
    std::string text;
    for (const std::string& line : loaded.error()) text += (text.empty() ? "" : "; ") + line;
    return std::unexpected(text);
  }
  Appliance appliance;
  appliance.board = std::move(*loaded);
  appliance.board_file = board_file;
  appliance.data_dir = appliance.board.storage().data_dir();
  appliance.boot_dir = appliance.data_dir / "boot";
  appliance.run_dir = appliance.data_dir / "run";
  appliance.key_store =
      board::ResolveStoragePath(appliance.board, appliance.board.storage().key_store());
  appliance.boot_attempts = board::BootAttempts(appliance.board);
  return appliance;
}

fs::path SlotDevice(const Appliance& appliance, std::string_view slot) {
  const schema::FlashSlot& flash =
      slot == kSlotA ? appliance.board.storage().slot_a() : appliance.board.storage().slot_b();
  return board::ResolveStoragePath(appliance.board, flash.path());
}

std::expected<void, std::string> PrepareSlots(const Appliance& appliance) {
  for (const schema::FlashSlot* flash :
       {&appliance.board.storage().slot_a(), &appliance.board.storage().slot_b()}) {
    if (!flash->file_backed()) continue;
    const fs::path device = board::ResolveStoragePath(appliance.board, flash->path());
    std::error_code ec;
    fs::create_directories(device.parent_path(), ec);
    if (ec) return std::unexpected(device.parent_path().string() + ": " + ec.message());
    const int fd = open(device.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return std::unexpected(device.string() + ": " + std::strerror(errno));
    struct stat st {};
    const auto size = static_cast<off_t>(flash->size_mb()) << 20;
    const bool ok = fstat(fd, &st) == 0 && (st.st_size >= size || ftruncate(fd, size) == 0);
    close(fd);
    if (!ok)
      return std::unexpected(device.string() + ": cannot size it to " +
                             std::to_string(flash->size_mb()) + " MiB");
  }
  return {};
}

std::expected<TrustContext, std::string> LoadTrust(const Appliance& appliance) {
  auto verifier = mgmt::trust::LoadVerifier(appliance.key_store);
  if (!verifier) return std::unexpected(verifier.error());
  auto keys = drivers::OpenFileKeyStore(appliance.key_store);
  if (!keys) return std::unexpected(keys.error());
  return TrustContext{std::move(*verifier), std::move(*keys)};
}

std::expected<ImageRequirements, std::string> Requirements(const Appliance& appliance,
                                                           const TrustContext& trust) {
  auto index = trust.keys->FirmwareRollbackIndex();
  if (!index) return std::unexpected(index.error());
  return ImageRequirements{appliance.board.name(), *index};
}

namespace {

// Reads up to `size` bytes at `offset` (fewer at the end of the file).
std::expected<std::string, std::string> ReadAt(int fd, uint64_t offset, uint64_t size,
                                               const fs::path& file) {
  std::string bytes(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n =
        pread(fd, bytes.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(file.string() + ": " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace

std::expected<std::string, std::string> ReadImageFile(const fs::path& file) {
  // A slot is larger than its image: read the header, and from the (not yet verified)
  // manifest how many bytes follow, never more than the file holds. Verification then
  // refuses whatever these bytes are not.
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(file.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    close(fd);
    return std::unexpected(file.string() + ": " + std::strerror(errno));
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  constexpr uint64_t kHeader = mgmt::image::kImageMagic.size() + 4;
  auto header = ReadAt(fd, 0, std::min(file_size, kHeader), file);
  uint64_t total = header ? header->size() : 0;
  if (header && header->size() == kHeader) {
    uint64_t envelope_size = 0;
    for (size_t i = mgmt::image::kImageMagic.size(); i < kHeader; ++i)
      envelope_size = (envelope_size << 8) | static_cast<unsigned char>((*header)[i]);
    envelope_size = std::min<uint64_t>(envelope_size, mgmt::image::kMaxEnvelopeBytes);
    total = std::min(file_size, kHeader + envelope_size);
    if (auto envelope = ReadAt(fd, kHeader, total - kHeader, file)) {
      schema::SignedEnvelope parsed;
      schema::FirmwareManifest manifest;
      if (parsed.ParseFromString(*envelope) && manifest.ParseFromString(parsed.payload()))
        for (const schema::FirmwareFile& entry : manifest.files())
          total = std::min(file_size, total + std::min<uint64_t>(entry.size(), file_size));
    }
  }
  auto bytes = ReadAt(fd, 0, total, file);
  close(fd);
  return bytes;
}

std::expected<VerifiedManifest, std::string> FlashSlot(const Appliance& appliance,
                                                       const TrustContext& trust,
                                                       std::string_view slot,
                                                       std::string_view image) {
  auto requirements = Requirements(appliance, trust);
  if (!requirements) return std::unexpected(requirements.error());
  auto verified = VerifyImage(image, trust.verifier, *requirements);
  if (!verified)
    return std::unexpected("refused (" + std::string(ImageRefusalName(verified.error().reason)) +
                           "): " + verified.error().message);
  const schema::FlashSlot& flash =
      slot == kSlotA ? appliance.board.storage().slot_a() : appliance.board.storage().slot_b();
  if (flash.size_mb() != 0 && image.size() > (uint64_t{flash.size_mb()} << 20))
    return std::unexpected("image of " + std::to_string(image.size()) +
                           " bytes does not fit slot " + std::string(slot) + " (" +
                           std::to_string(flash.size_mb()) + " MiB)");
  if (auto ok = PrepareSlots(appliance); !ok) return std::unexpected(ok.error());
  const fs::path device = SlotDevice(appliance, slot);
  const int fd = open(device.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(device.string() + ": " + std::strerror(errno));
  std::string_view rest = image;
  off_t offset = 0;
  while (!rest.empty()) {
    const ssize_t n = pwrite(fd, rest.data(), rest.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string error = device.string() + ": write failed: " + std::strerror(errno);
      close(fd);
      return std::unexpected(error);
    }
    rest.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return std::unexpected(device.string() + ": fsync failed");
  return std::move(*verified);
}

}  // namespace sbc::firmware
