// The appliance's key store: where its trust root and identity live (mgmt/trust reads
// those files), the firmware anti-rollback index, and the appliance's own secrets.
//
// A rack board backs the index with a TPM NV counter (monotonic in hardware, so a
// restored disk cannot lower it) and its secrets with a PKCS#11 token; the sim board
// keeps both as files (0600, written crash-safely). Callers see only this interface.
// Control side only; not for workers. One process writes a key store at a time.
#pragma once

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <string>

namespace sbc::drivers {

inline constexpr char kRollbackIndexFile[] = "firmware-rollback-index";

class KeyStore {
 public:
  virtual ~KeyStore() = default;

  // The highest anti-rollback index a committed firmware image has carried; 0 before
  // the first commit. An error (unreadable, garbage) is never read as 0.
  [[nodiscard]] virtual std::expected<uint64_t, std::string> FirmwareRollbackIndex() const = 0;

  // Raises the index to `index`. Equal is a no-op; lower is refused with a message
  // that gives both numbers: the index never goes down.
  [[nodiscard]] virtual std::expected<void, std::string> RaiseFirmwareRollbackIndex(
      uint64_t index) = 0;

  // The directory holding trust-root.textproto and identity.textproto.
  [[nodiscard]] virtual const std::filesystem::path& TrustDirectory() const = 0;
};

// The sim board's key store: files in `dir`, which must exist and be a directory that
// only its owner may write. Returns one line naming the problem.
[[nodiscard]] std::expected<std::unique_ptr<KeyStore>, std::string> OpenFileKeyStore(
    const std::filesystem::path& dir);

}  // namespace sbc::drivers
