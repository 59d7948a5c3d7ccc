// One software crypto device (crypto_aesni_mb, created as a vdev) and a packet pool,
// shared by every test of a binary: SetUpTestSuite opens, TearDownTestSuite closes.
#pragma once

#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_mbuf.h>

#include <memory>
#include <string>

#include "sbc/drivers/crypto/crypto_device.h"

namespace sbc::testing {

class CryptoTestDevice {
 public:
  void Open(const std::string& name, uint32_t sessions, uint32_t mbufs) {
    name_ = name;
    ASSERT_EQ(rte_vdev_init(name.c_str(), nullptr), 0) << "crypto_aesni_mb not available";
    auto device = drivers::crypto::CryptoDevice::Open(
        {.name = name, .queue_pairs = 2, .sessions = sessions, .ops = 512});
    ASSERT_TRUE(device.has_value()) << device.error();
    device_ = std::move(*device);
    pool_ = rte_pktmbuf_pool_create("crypto_test_mbufs", mbufs, 0, 0, 2048 + RTE_PKTMBUF_HEADROOM,
                                    0);  // one per binary
    ASSERT_NE(pool_, nullptr);
  }
  void Close() {
    device_.reset();
    rte_mempool_free(pool_);
    pool_ = nullptr;
    rte_vdev_uninit(name_.c_str());
  }
  drivers::crypto::CryptoDevice& device() { return *device_; }
  rte_mempool* pool() { return pool_; }

 private:
  std::string name_;
  std::unique_ptr<drivers::crypto::CryptoDevice> device_;
  rte_mempool* pool_ = nullptr;
};

}  // namespace sbc::testing
