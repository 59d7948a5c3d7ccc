// A call's media through the running dataplane on the sim board (ring ports, the
// board's crypto_aesni_mb, real workers): a plain RTP gateway on wan0 and an SRTP phone
// on lan0 behind our relay address, the phone's address latched on its first
// authentic packet; media both ways checked with libsrtp2 as the phone; forged media
// counted and dropped; a removed session's ports closed. Sessions come and go while
// the workers run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "sbc/drivers/nic/rss.h"
#include "sbc/firmware/dataplane.h"
#include "sbc/mgmt/config/compile.h"
#include "sbc/schema/text_file.h"
#include "support/libsrtp_reference.h"
#include "support/packet_builder.h"
#include "support/rtp_header.h"

namespace sbc::firmware {
namespace {

using dataplane::DropReason;
using testing::Bytes;
using testing::Ip;
using testing::Libsrtp;

constexpr size_t kWan = 0, kLan = 1;

constexpr char kConfig[] = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
zones { name: "outside" source_sets: ["outside-nets"] }
zones { name: "inside" source_sets: ["inside-nets"] }
prefix_sets { name: "outside-nets" prefixes: ["203.0.113.0/24"] }
prefix_sets { name: "inside-nets" prefixes: ["192.0.2.0/24"] }
media { service_addresses: ["192.0.2.250"] port_min: 20000 port_max: 30000 }
)";

dataplane::MediaEndpoint V4(const char* a, uint16_t port) {
  return {.family = dataplane::Family::kIpv4, .address = Ip(a), .port = port};
}

Bytes Rtp(uint32_t ssrc, uint16_t seq, std::mt19937& rng) {
  const uint32_t ts = 160u * seq;
  const std::array<uint8_t, 12> header = testing::RtpHeader(ssrc, seq, ts);
  Bytes p(header.begin(), header.end());
  for (int i = 0; i < 160; ++i) p.push_back(uint8_t(rng()));
  return p;
}

class MediaIntegrationTest : public ::testing::Test {
 protected:
  virtual int workers() const { return 1; }
  void SetUp() override {
    Libsrtp::Init();
    auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
    ASSERT_TRUE(board.has_value());
    board->mutable_cpu()->clear_worker_cores();
    for (int w = 1; w <= workers(); ++w) board->mutable_cpu()->add_worker_cores(w);
    auto dp = Dataplane::Start(*board, {.media_sessions = 16, .clock = &clock_});
    ASSERT_TRUE(dp.has_value()) << dp.error();
    dp_ = std::move(*dp);
    ASSERT_TRUE(dp_->has_crypto()) << "the sim board names crypto_aesni_mb0";
    schema::ApplianceConfig config;
    ASSERT_TRUE(schema::ParseText(kConfig, "config", "test", &config).has_value());
    auto spec = mgmt::config::CompileConfig(config, 1, std::vector<std::string>{"wan0", "lan0"});
    ASSERT_TRUE(spec.has_value());
    ASSERT_TRUE(dp_->ApplyRules(*spec).has_value());
    in_use_ = rte_mempool_in_use_count(dp_->ports().pool());
  }
  void TearDown() override {
    dp_->Stop();
    for (size_t port : {kWan, kLan}) Drain(port);
    EXPECT_EQ(rte_mempool_in_use_count(dp_->ports().pool()), in_use_) << "leaked packet buffers";
    dp_->Close();
  }
  void Drain(size_t port) {
    rte_mbuf* frames[32];
    uint16_t n;
    while ((n = dp_->ports().sim_wire()->Receive(port, frames, 32)) != 0)
      rte_pktmbuf_free_bulk(frames, n);
  }

  struct Out {
    bool relayed = false;
    size_t port = 0;
    Bytes payload;  // the UDP payload as it left
    uint16_t src_port = 0, dst_port = 0;
    std::array<uint8_t, 4> dst{};
    DropReason dropped = dataplane::kNotDropped;
  };
  // One datagram into `in`; where it came out, or which drop counter took it.
  Out Send(size_t in, const dataplane::MediaEndpoint& from, const dataplane::MediaEndpoint& to,
           const Bytes& payload) {
    const testing::FrameSpec spec =
        testing::UdpDatagram(from.address, from.port, to.address, to.port, payload);
    const auto before = dp_->Counters();
    rte_mbuf* frame = testing::BuildFrame(dp_->ports().pool(), spec);
    EXPECT_EQ(dp_->ports().sim_wire()->Send(in, &frame, 1), 1);
    Out out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
    while (std::chrono::steady_clock::now() < deadline) {
      for (size_t port : {kWan, kLan}) {
        rte_mbuf* f = nullptr;
        if (dp_->ports().sim_wire()->Receive(port, &f, 1) == 1) {
          const uint8_t* d = rte_pktmbuf_mtod(f, const uint8_t*);
          out.relayed = true;
          out.port = port;
          out.payload.assign(d + 42, d + f->pkt_len);
          out.src_port = uint16_t(d[34] << 8 | d[35]);
          out.dst_port = uint16_t(d[36] << 8 | d[37]);
          std::memcpy(out.dst.data(), d + 30, 4);
          rte_pktmbuf_free(f);
          return out;
        }
      }
      const auto now = dp_->Counters();
      for (size_t r = 0; r < dataplane::kDropReasonCount; ++r)
        if (now.drops[r] != before.drops[r]) {
          out.dropped = static_cast<DropReason>(r);
          return out;
        }
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    ADD_FAILURE() << "the datagram was neither relayed nor dropped";
    return out;
  }

  // Moves the workers' (and the idle check's) clock on by `seconds`.
  void Advance(double seconds) {
    clock_.fetch_add(static_cast<uint64_t>(seconds * static_cast<double>(rte_get_tsc_hz())));
    dp_->WaitForWorkers();
  }

  std::atomic<uint64_t> clock_{rte_get_tsc_cycles()};
  std::unique_ptr<Dataplane> dp_;
  unsigned in_use_ = 0;
  std::mt19937 rng_{9};
};

TEST_F(MediaIntegrationTest, ACallsMediaCrossesTheRunningDataplane) {
  const auto gateway = V4("203.0.113.5", 4000), gateway_side = V4("192.0.2.250", 20000);
  const auto phone = V4("192.0.2.50", 5000), phone_side = V4("192.0.2.250", 20002);
  dataplane::SrtpMasterKey phone_key, our_key;
  for (auto* k : {&phone_key, &our_key}) {
    for (auto& b : k->key) b = uint8_t(rng_());
    for (auto& b : k->salt) b = uint8_t(rng_());
  }
  auto phone_session_keys = dp_->DeriveSrtpKeys(phone_key);
  auto our_session_keys = dp_->DeriveSrtpKeys(our_key);
  ASSERT_TRUE(phone_session_keys && our_session_keys);
  dataplane::MediaSessionSpec spec{.id = 42};
  spec.legs[0] = {.local = gateway_side, .remote = gateway, .port_slot = kWan};
  spec.legs[1] = {.local = phone_side,
                  .port_slot = kLan,
                  .srtp_from_leg = *phone_session_keys,
                  .srtp_to_leg = *our_session_keys};
  ASSERT_TRUE(dp_->AddMediaSession(spec).has_value());
  Libsrtp phone_out(phone_key, true), phone_in(our_key, false);

  EXPECT_EQ(Send(kWan, gateway, gateway_side, Rtp(0xa, 1, rng_)).dropped,
            DropReason::kMediaLegNotReady);
  const Bytes hello = Rtp(0xb, 7, rng_);
  const Out to_gateway = Send(kLan, phone, phone_side, phone_out.Run(hello, false, true));
  ASSERT_TRUE(to_gateway.relayed) << dataplane::DropReasonName(to_gateway.dropped);
  EXPECT_EQ(to_gateway.port, kWan);
  EXPECT_EQ(to_gateway.payload, hello);
  EXPECT_EQ(to_gateway.dst_port, 4000);
  EXPECT_EQ(to_gateway.src_port, 20000);
  for (uint16_t seq = 2; seq < 100; ++seq) {
    const Bytes voice = Rtp(0xa, seq, rng_);
    const Out to_phone = Send(kWan, gateway, gateway_side, voice);
    ASSERT_TRUE(to_phone.relayed) << seq << " " << dataplane::DropReasonName(to_phone.dropped);
    EXPECT_EQ(to_phone.port, kLan);
    ASSERT_EQ(phone_in.Run(to_phone.payload, false, false), voice) << seq;
  }
  // Someone else on the inside forges media for the phone's relay port.
  Libsrtp stranger(our_key, true);
  EXPECT_EQ(
      Send(kLan, V4("192.0.2.66", 6000), phone_side, stranger.Run(Rtp(0xb, 8, rng_), false, true))
          .dropped,
      DropReason::kMediaAuthFailed);
  const auto snapshot = dp_->MediaSession(42);
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->legs[1].counters.latches, 1u);

  EXPECT_TRUE(dp_->RemoveMediaSession(42));  // while the workers run
  EXPECT_EQ(Send(kWan, gateway, gateway_side, Rtp(0xa, 100, rng_)).dropped,
            DropReason::kMediaNoSession);
}

TEST_F(MediaIntegrationTest, IdleSessionsEnd) {
  dataplane::MediaSessionSpec spec{.id = 5};
  spec.legs[0] = {
      .local = V4("192.0.2.250", 21000), .remote = V4("203.0.113.7", 4000), .port_slot = kWan};
  spec.legs[1] = {
      .local = V4("192.0.2.250", 21002), .remote = V4("192.0.2.51", 5000), .port_slot = kLan};
  ASSERT_TRUE(dp_->AddMediaSession(spec).has_value());
  EXPECT_TRUE(dp_->RemoveIdleMediaSessions(1).empty());
  Advance(0.9);
  EXPECT_TRUE(dp_->RemoveIdleMediaSessions(1).empty()) << "idle 0.9 s of 1 s";
  Advance(0.2);
  EXPECT_THAT(dp_->RemoveIdleMediaSessions(1), ::testing::ElementsAre(5u));
  EXPECT_FALSE(dp_->RemoveMediaSession(5));
}

// With several workers (the rack board has 8), a session's two legs hash to different
// workers, yet one worker writes its state: the owner relays every packet of it, and
// the other hands what it takes in to the owner.
class MultiWorkerMediaTest : public MediaIntegrationTest {
 protected:
  int workers() const override { return 2; }
  // The RSS queue (hence worker) a datagram from `from` to `to` reaches.
  size_t QueueOf(const dataplane::MediaEndpoint& from, const dataplane::MediaEndpoint& to) {
    rte_mbuf* f = testing::BuildFrame(
        dp_->ports().pool(),
        testing::UdpDatagram(from.address, from.port, to.address, to.port, Bytes(12, 0x80)));
    const size_t queue = drivers::nic::SymmetricFlowHash(f) % 2;
    rte_pktmbuf_free(f);
    return queue;
  }
};

TEST_F(MultiWorkerMediaTest, OneWorkerRelaysEverythingOfASession) {
  const auto gateway_side = V4("192.0.2.250", 22000), phone_side = V4("192.0.2.250", 22002);
  const auto gateway = V4("203.0.113.5", 4000);
  // A phone port whose packets reach the other worker than the gateway's.
  dataplane::MediaEndpoint phone = V4("192.0.2.50", 5000);
  while (QueueOf(phone, phone_side) == QueueOf(gateway, gateway_side)) ++phone.port;
  dataplane::MediaSessionSpec spec{.id = 60};
  spec.legs[0] = {.local = gateway_side, .remote = gateway, .port_slot = kWan};
  spec.legs[1] = {.local = phone_side, .remote = phone, .port_slot = kLan};
  ASSERT_TRUE(dp_->AddMediaSession(spec).has_value());
  const auto snapshot = dp_->MediaSession(60);
  ASSERT_TRUE(snapshot.has_value());
  const uint8_t owner = snapshot->owner;
  ASSERT_LT(owner, 2);

  ASSERT_EQ(Send(kWan, gateway, gateway_side, Rtp(0xa, 1, rng_)).dropped,
            DropReason::kMediaLegNotReady);
  for (uint16_t seq = 1; seq <= 20; ++seq) {
    const Out to_gateway = Send(kLan, phone, phone_side, Rtp(0xb, seq, rng_));
    ASSERT_TRUE(to_gateway.relayed) << dataplane::DropReasonName(to_gateway.dropped);
    const Out to_phone = Send(kWan, gateway, gateway_side, Rtp(0xa, uint16_t(seq + 1), rng_));
    ASSERT_TRUE(to_phone.relayed) << dataplane::DropReasonName(to_phone.dropped);
  }
  uint64_t relayed_by[2] = {};
  for (size_t w = 0; w < 2; ++w)
    for (size_t port : {kWan, kLan})  // the workers still run: read as they write
      relayed_by[w] += dataplane::LoadShared(dp_->WorkerCounters(w).ports[port].tx_packets);
  EXPECT_EQ(relayed_by[owner], 40u) << "the owner relayed both legs";
  EXPECT_EQ(relayed_by[1 - owner], 0u) << "the other worker wrote nothing of the session";
  EXPECT_EQ(dp_->Counters().drops[size_t(DropReason::kMediaOtherWorker)], 0u);
}

}  // namespace
}  // namespace sbc::firmware
