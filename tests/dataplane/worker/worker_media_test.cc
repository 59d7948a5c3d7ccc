// The worker with its media relay on two ring ports and the real crypto device
// (crypto_aesni_mb) behind a queue that can hold ops back, as a device of the QAT kind
// is slow: a packet the device answers late leaves from a later poll, and while the
// device holds it (with pointers into its session) no grace period ends, however
// often the worker polls, until the device gives it back.
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>

#include "sbc/dataplane/media/media_table.h"
#include "sbc/dataplane/worker/worker.h"
#include "support/crypto_test_device.h"
#include "support/holding_crypto_queue.h"
#include "support/libsrtp_reference.h"
#include "support/packet_builder.h"
#include "support/ring_ports.h"
#include "support/rtp_header.h"
#include "support/rules.h"
#include "support/run_process.h"
#include "support/wait.h"

namespace sbc::dataplane {
namespace {

using testing::Bytes;
using testing::Ip;

constexpr uint8_t kSlotA = 0, kSlotB = 1;

MediaEndpoint V4(const char* address, uint16_t port) {
  return {.family = Family::kIpv4, .address = Ip(address), .port = port};
}

class WorkerMediaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bed_.Open("crypto_aesni_mb_worker_media", 256, 1023);
    testing::Libsrtp::Init();
  }
  static void TearDownTestSuite() { bed_.Close(); }

  void SetUp() override {
    static int serial = 0;
    const std::string id = std::to_string(serial++);
    ports_.Open("wmt" + id, bed_.pool());
    if (HasFatalFailure()) return;
    auto slot = FirewallTableSlot::Create(1);
    ASSERT_TRUE(slot.has_value()) << slot.error();
    slot_ = std::move(*slot);
    auto tables = FirewallTables::Build(testing::AllowAllRules(), 1, rte_get_tsc_hz());
    ASSERT_TRUE(tables.has_value()) << tables.error();
    slot_->Publish(std::move(*tables));

    drivers::crypto::CryptoDevice& device = bed_.device();
    factory_ = std::make_unique<SrtpStreamFactory>(device.id(), 1, device.session_pool(),
                                                   device.op_pool());
    auto table = MediaTable::Create(16, slot_->qsbr(), factory_.get());
    ASSERT_TRUE(table.has_value()) << table.error();
    table_ = std::move(*table);
    queue_ = std::make_unique<testing::HoldingCryptoQueue>(device.id(), 0);
    // A bound no test reaches: what the device holds, it gives back when the test says.
    media_ = {.table = table_.get(),
              .crypto = {.device = device.id(),
                         .queue_pair = 0,
                         .op_pool = device.op_pool(),
                         .session_pool = device.session_pool(),
                         .queue = queue_.get(),
                         .collect_bound_us = testing::kEventDeadlineS * 1'000'000u}};
    const std::array<WireLink, 2> links = ports_.CrossLinks();
    auto worker = Worker::Create(links, *slot_, 0, 1024, &media_);
    ASSERT_TRUE(worker.has_value()) << worker.error();
    worker_ = std::move(*worker);
  }
  void TearDown() override {
    worker_.reset();
    table_.reset();
    factory_.reset();
    queue_.reset();
    slot_.reset();
    ports_.Close();
    EXPECT_EQ(rte_mempool_in_use_count(bed_.pool()), 0u) << "packet buffers leaked";
  }

  // Leg A: a plain RTP gateway on port slot 0; leg B: an SRTP phone on slot 1, whose
  // packets the worker unprotects for A.
  testing::Libsrtp AddSession(uint64_t id) {
    SrtpMasterKey phone, ours;
    for (auto& b : phone.key) b = uint8_t(rng_());
    for (auto& b : phone.salt) b = uint8_t(rng_());
    for (auto& b : ours.key) b = uint8_t(rng_());
    for (auto& b : ours.salt) b = uint8_t(rng_());
    MediaSessionSpec spec{.id = id};
    spec.legs[0] = {.local = a_local_, .remote = a_remote_, .port_slot = kSlotA};
    spec.legs[1] = {.local = b_local_,
                    .remote = b_remote_,
                    .port_slot = kSlotB,
                    .srtp_from_leg = factory_->Derive(phone).value(),
                    .srtp_to_leg = factory_->Derive(ours).value()};
    const auto added = table_->Add(spec);
    EXPECT_TRUE(added.has_value()) << added.error();
    return testing::Libsrtp(phone, true);
  }
  void Arrive(int port, const MediaEndpoint& from, const MediaEndpoint& to, const Bytes& payload) {
    const testing::FrameSpec spec =
        testing::UdpDatagram(from.address, from.port, to.address, to.port, payload);
    ASSERT_EQ(rte_ring_enqueue(rx_[port], testing::BuildFrame(bed_.pool(), spec)), 0);
  }
  Bytes Rtp(uint16_t seq) {
    const std::array<uint8_t, 12> header = testing::RtpHeader(0xb, seq, 160u * seq);
    Bytes p(header.begin(), header.end());
    for (int i = 0; i < 160; ++i) p.push_back(uint8_t(rng_()));
    return p;
  }
  // The RTP packet of the one frame waiting on `ring` (freed), or nothing.
  static Bytes TakeRtp(rte_ring* ring) {
    void* m = nullptr;
    if (rte_ring_dequeue(ring, &m) != 0) return {};
    auto* f = static_cast<rte_mbuf*>(m);
    const uint8_t* d = rte_pktmbuf_mtod(f, const uint8_t*);
    Bytes rtp(d + 42, d + f->pkt_len);
    rte_pktmbuf_free(f);
    return rtp;
  }
  uint64_t Dropped(DropReason r) const { return worker_->counters().drops[size_t(r)]; }

  static inline testing::CryptoTestDevice bed_;
  std::mt19937 rng_{51};
  MediaEndpoint a_remote_ = V4("203.0.113.5", 4000), a_local_ = V4("192.0.2.250", 20000);
  MediaEndpoint b_remote_ = V4("198.51.100.7", 5000), b_local_ = V4("192.0.2.250", 20002);
  testing::RingPorts ports_;
  rte_ring* (&rx_)[2] = ports_.rx;
  rte_ring* (&tx_)[2] = ports_.tx;
  std::unique_ptr<FirewallTableSlot> slot_;
  std::unique_ptr<SrtpStreamFactory> factory_;
  std::unique_ptr<MediaTable> table_;
  std::unique_ptr<testing::HoldingCryptoQueue> queue_;
  MediaStage media_;
  std::unique_ptr<Worker> worker_;
};

// The worker does not wait for the device: the poll that submitted the packet sends
// nothing, and the poll after the device answers sends it, with nothing new received.
TEST_F(WorkerMediaTest, APacketTheDeviceAnswersLateLeavesFromALaterPoll) {
  testing::Libsrtp phone = AddSession(1);
  Arrive(kSlotA, a_remote_, a_local_, Rtp(1));  // A's link address learnt
  worker_->PollOnce();
  ASSERT_EQ(Dropped(DropReason::kMediaLegNotReady), 1u);

  queue_->HoldNext(1);
  const Bytes voice = Rtp(2);
  Arrive(kSlotB, b_remote_, b_local_, phone.Run(voice, false, true));
  EXPECT_EQ(worker_->PollOnce(), 1u);
  EXPECT_EQ(rte_ring_count(tx_[kSlotA]), 0u) << "sent before the device answered";
  EXPECT_EQ(queue_->held(), 1u);
  EXPECT_EQ(worker_->PollOnce(), 0u);
  EXPECT_EQ(rte_ring_count(tx_[kSlotA]), 0u);

  queue_->Release();
  EXPECT_EQ(worker_->PollOnce(), 0u);
  EXPECT_EQ(TakeRtp(tx_[kSlotA]), voice);
  EXPECT_EQ(worker_->counters().ports[kSlotA].tx_packets, 1u);
  EXPECT_EQ(Dropped(DropReason::kMediaCryptoLost), 0u);
}

// While the device holds a packet, the worker holds pointers into its session, so no
// grace period may end (a removed session would be freed under the device's packet):
// the worker reports no quiescent state, however often it polls the device, until the
// device gives the packet back; then the grace period ends and the packet leaves.
TEST_F(WorkerMediaTest, NoGracePeriodEndsWhileTheDeviceHoldsAPacket) {
  testing::Libsrtp phone = AddSession(1);
  Arrive(kSlotA, a_remote_, a_local_, Rtp(1));
  worker_->PollOnce();
  queue_->HoldNext(1);
  const Bytes voice = Rtp(2);
  Arrive(kSlotB, b_remote_, b_local_, phone.Run(voice, false, true));

  std::atomic<bool> stop{false};
  std::thread lcore([&] { worker_->Run(stop); });
  rte_rcu_qsbr* qsbr = slot_->qsbr();
  const bool submitted = testing::WaitUntil([&] { return queue_->held() == 1; });
  const uint64_t token = rte_rcu_qsbr_start(qsbr);
  // The worker has looked to the device a thousand times since the grace period began.
  const uint64_t looks = queue_->dequeue_calls();
  const bool looked = testing::WaitUntil([&] { return queue_->dequeue_calls() > looks + 1000; });
  const int ended_while_held = rte_rcu_qsbr_check(qsbr, token, false);
  queue_->Release();
  const bool ended =
      testing::WaitUntil([&] { return rte_rcu_qsbr_check(qsbr, token, false) == 1; });
  const bool sent = testing::WaitUntil([&] { return rte_ring_count(tx_[kSlotA]) == 1; });
  stop.store(true);
  lcore.join();
  ASSERT_TRUE(submitted) << "the worker never gave the packet to the device";
  ASSERT_TRUE(looked) << "the worker stopped polling the device";
  EXPECT_EQ(ended_while_held, 0) << "a grace period ended while the device held a packet";
  EXPECT_TRUE(ended) << "the grace period never ended once the device answered";
  ASSERT_TRUE(sent);
  EXPECT_EQ(TakeRtp(tx_[kSlotA]), voice);
}

}  // namespace
}  // namespace sbc::dataplane
