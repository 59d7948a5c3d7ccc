// A DPDK crypto device ready for symmetric work: `crypto_aesni_mb` (libipsec-mb,
// software) on the sim board and x86 boxes, a hardware PMD on boards that have one.
// One queue pair per worker plus one for the control lcore (key derivation), a pool
// of sessions (one per stream direction and packet kind) and a pool of crypto ops.
#pragma once

#include <rte_crypto.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <string>

struct rte_mempool;

namespace sbc::drivers::crypto {

// Bytes of per-op private space after rte_crypto_op + rte_crypto_sym_op: the IV, the
// AAD copy and the scratch digest live there, so an op carries all it needs.
inline constexpr uint16_t kOpPrivateBytes = 256;
// Where the IV sits in an op (the offset cryptodev wants in its xforms). Inline: the
// SRTP engine asks for it several times per packet.
[[nodiscard]] constexpr uint16_t IvOffset() {
  return sizeof(rte_crypto_op) + sizeof(rte_crypto_sym_op);
}

struct CryptoDeviceOptions {
  std::string name;             // the device as EAL knows it, e.g. "crypto_aesni_mb0"
  uint16_t queue_pairs = 2;     // workers + 1 (control)
  uint32_t sessions = 4096;     // session objects (each holds one key schedule)
  uint32_t ops = 4096;          // crypto ops shared by all queue pairs
  uint32_t descriptors = 2048;  // per queue pair
};

class CryptoDevice {
 public:
  // Configures and starts the device. Fails with one line naming the device and the
  // step (not found, too few queue pairs, pool creation, start).
  [[nodiscard]] static std::expected<std::unique_ptr<CryptoDevice>, std::string> Open(
      const CryptoDeviceOptions& options);
  ~CryptoDevice();  // stops and closes the device; sessions must be freed first
  CryptoDevice(const CryptoDevice&) = delete;
  CryptoDevice& operator=(const CryptoDevice&) = delete;

  uint8_t id() const { return id_; }
  const std::string& name() const { return name_; }
  uint16_t queue_pairs() const { return queue_pairs_; }
  rte_mempool* session_pool() const { return session_pool_; }
  rte_mempool* op_pool() const { return op_pool_; }
  // Bytes of one session's private data (the key schedule): fast-path state.
  uint32_t session_bytes() const { return session_bytes_; }

 private:
  CryptoDevice() = default;
  uint8_t id_ = 0;
  std::string name_;
  uint16_t queue_pairs_ = 0;
  uint32_t session_bytes_ = 0;
  rte_mempool* session_pool_ = nullptr;
  rte_mempool* op_pool_ = nullptr;
  bool started_ = false;
};

}  // namespace sbc::drivers::crypto
