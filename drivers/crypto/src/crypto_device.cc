#include "sbc/drivers/crypto/crypto_device.h"

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

namespace sbc::drivers::crypto {
namespace {

std::string Why(const std::string& device, const std::string& step, int err) {
  return "crypto device " + device + ": " + step + ": " + rte_strerror(err < 0 ? -err : err);
}

}  // namespace

std::expected<std::unique_ptr<CryptoDevice>, std::string> CryptoDevice::Open(
    const CryptoDeviceOptions& options) {
  const int id = rte_cryptodev_get_dev_id(options.name.c_str());
  if (id < 0)
    return std::unexpected("crypto device " + options.name +
                           ": not found (is its --vdev or PCI address given?)");
  std::unique_ptr<CryptoDevice> device(new CryptoDevice());
  device->id_ = static_cast<uint8_t>(id);
  device->name_ = options.name;
  rte_cryptodev_info info{};
  rte_cryptodev_info_get(device->id_, &info);
  if (info.max_nb_queue_pairs < options.queue_pairs)
    return std::unexpected("crypto device " + options.name + ": " +
                           std::to_string(options.queue_pairs) + " queue pairs needed, it has " +
                           std::to_string(info.max_nb_queue_pairs));
  const int socket = static_cast<int>(rte_socket_id());
  device->session_bytes_ = rte_cryptodev_sym_get_private_session_size(device->id_);
  const std::string tag = std::to_string(id);
  device->session_pool_ = rte_cryptodev_sym_session_pool_create(
      ("sbc_csess_" + tag).c_str(), options.sessions, device->session_bytes_, 0, 0, socket);
  if (device->session_pool_ == nullptr)
    return std::unexpected(Why(options.name, "session pool", rte_errno));
  // No per-lcore cache: workers take their ops once for good, and a cache would let
  // one lcore's refill strand the rest where the control lcore cannot reach them.
  device->op_pool_ =
      rte_crypto_op_pool_create(("sbc_cop_" + tag).c_str(), RTE_CRYPTO_OP_TYPE_SYMMETRIC,
                                options.ops, 0, kOpPrivateBytes, socket);
  if (device->op_pool_ == nullptr) return std::unexpected(Why(options.name, "op pool", rte_errno));

  rte_cryptodev_config config{};
  config.socket_id = socket;
  config.nb_queue_pairs = options.queue_pairs;
  // Asymmetric crypto and security sessions are never used here.
  config.ff_disable = RTE_CRYPTODEV_FF_ASYMMETRIC_CRYPTO | RTE_CRYPTODEV_FF_SECURITY;
  if (int ret = rte_cryptodev_configure(device->id_, &config); ret < 0)
    return std::unexpected(Why(options.name, "configure", ret));
  rte_cryptodev_qp_conf qp{};
  qp.nb_descriptors = options.descriptors;
  qp.mp_session = device->session_pool_;
  for (uint16_t q = 0; q < options.queue_pairs; ++q)
    if (int ret = rte_cryptodev_queue_pair_setup(device->id_, q, &qp, socket); ret < 0)
      return std::unexpected(Why(options.name, "queue pair " + std::to_string(q), ret));
  if (int ret = rte_cryptodev_start(device->id_); ret < 0)
    return std::unexpected(Why(options.name, "start", ret));
  device->started_ = true;
  device->queue_pairs_ = options.queue_pairs;
  return device;
}

CryptoDevice::~CryptoDevice() {
  if (started_) {
    rte_cryptodev_stop(id_);
    rte_cryptodev_close(id_);
  }
  rte_mempool_free(op_pool_);
  rte_mempool_free(session_pool_);
}

}  // namespace sbc::drivers::crypto
