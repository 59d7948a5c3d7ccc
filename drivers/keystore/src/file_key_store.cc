#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "sbc/drivers/key_store.h"
#include "sbc/mgmt/base/atomic_file.h"

namespace sbc::drivers {
namespace {

namespace fs = std::filesystem;

class FileKeyStore final : public KeyStore {
 public:
  explicit FileKeyStore(fs::path dir) : dir_(std::move(dir)) {}

  std::expected<uint64_t, std::string> FirmwareRollbackIndex() const override {
    const fs::path file = dir_ / kRollbackIndexFile;
    struct stat st {};
    if (lstat(file.c_str(), &st) != 0) {
      if (errno == ENOENT) return 0;
      return std::unexpected(file.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return std::unexpected(file.string() + ": not a regular file");
    auto text = mgmt::base::ReadFile(file);
    if (!text) return std::unexpected(text.error());
    // One decimal number and a newline, nothing else: anything else is damage, and
    // reading damage as 0 would let every old image in.
    uint64_t index = 0;
    const char* end = text->data() + text->size();
    if (!text->empty() && text->back() == '\n') --end;
    const auto [ptr, ec] = std::from_chars(text->data(), end, index);
    if (ec != std::errc() || ptr != end || text->empty())
      return std::unexpected(file.string() + ": not a decimal index (damaged key store)");
    return index;
  }

  std::expected<void, std::string> RaiseFirmwareRollbackIndex(uint64_t index) override {
    auto current = FirmwareRollbackIndex();
    if (!current) return std::unexpected(current.error());
    if (index == *current) return {};
    if (index < *current)
      return std::unexpected("anti-rollback index " + std::to_string(index) +
                             " is below the committed " + std::to_string(*current) +
                             "; it never goes down");
    return mgmt::base::WriteFileAtomically(dir_, kRollbackIndexFile, std::to_string(index) + "\n");
  }

  const fs::path& TrustDirectory() const override { return dir_; }

 private:
  fs::path dir_;
};

}  // namespace

std::expected<std::unique_ptr<KeyStore>, std::string> OpenFileKeyStore(const fs::path& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0)
    return std::unexpected("key store " + dir.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return std::unexpected("key store " + dir.string() + ": not a directory");
  if ((st.st_mode & 022) != 0)
    return std::unexpected("key store " + dir.string() +
                           ": group or others may write it; it must be its owner's only");
  return std::make_unique<FileKeyStore>(dir);
}

}  // namespace sbc::drivers
