// A crypto queue pair that holds ops back, for what DPDK's software crypto devices
// never do: be slow, or lose ops. In front of a real device's queue pair (so the
// crypto is really done), it keeps the ops the test says from coming back until the
// test lets them go, and can take only part of a burst. The test may call it from
// another thread than the worker's.
#pragma once

#include <rte_cryptodev.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sbc/dataplane/srtp/srtp_batch.h"

namespace sbc::testing {

class HoldingCryptoQueue final : public dataplane::CryptoQueue {
 public:
  HoldingCryptoQueue(uint8_t device, uint16_t queue_pair)
      : device_(device), queue_pair_(queue_pair) {}
  // Holds back the next `count` ops the device gives back.
  void HoldNext(uint16_t count) {
    std::lock_guard lock(mutex_);
    to_hold_ = count;
  }
  // The next enqueues take at most `count` ops each.
  void TakeAtMost(uint16_t count) {
    std::lock_guard lock(mutex_);
    take_at_most_ = count;
  }
  // The held ops come back with the next dequeue.
  void Release() {
    std::lock_guard lock(mutex_);
    released_.insert(released_.end(), held_.begin(), held_.end());
    held_.clear();
  }
  size_t held() const {
    std::lock_guard lock(mutex_);
    return held_.size();
  }
  uint32_t enqueue_calls() const { return enqueue_calls_.load(); }
  uint64_t dequeue_calls() const { return dequeue_calls_.load(); }

  uint16_t Enqueue(rte_crypto_op** ops, uint16_t count) noexcept override {
    std::lock_guard lock(mutex_);
    ++enqueue_calls_;
    return rte_cryptodev_enqueue_burst(device_, queue_pair_, ops,
                                       std::min<uint16_t>(count, take_at_most_));
  }
  uint16_t Dequeue(rte_crypto_op** ops, uint16_t room) noexcept override {
    std::lock_guard lock(mutex_);
    ++dequeue_calls_;
    uint16_t out = 0;
    while (out < room && !released_.empty()) {
      ops[out++] = released_.back();
      released_.pop_back();
    }
    // The device may give a burst back over several calls: it is asked again while
    // it gives only ops that are held, so holding one never hides the others.
    for (uint16_t k = 1; out == 0 && k != 0;) {
      rte_crypto_op* back[dataplane::SrtpBatch::kMaxBurst];
      k = rte_cryptodev_dequeue_burst(
          device_, queue_pair_, back,
          std::min<uint16_t>(static_cast<uint16_t>(room - out), dataplane::SrtpBatch::kMaxBurst));
      for (uint16_t i = 0; i < k; ++i) {
        if (to_hold_ != 0) {
          --to_hold_;
          held_.push_back(back[i]);
        } else {
          ops[out++] = back[i];
        }
      }
    }
    return out;
  }

 private:
  uint8_t device_;
  uint16_t queue_pair_;
  uint16_t to_hold_ = 0;
  uint16_t take_at_most_ = UINT16_MAX;
  std::atomic<uint32_t> enqueue_calls_{0};
  std::atomic<uint64_t> dequeue_calls_{0};
  mutable std::mutex mutex_;
  std::vector<rte_crypto_op*> held_, released_;
};

}  // namespace sbc::testing
