// The media relay stage's test bed: the real crypto device (crypto_aesni_mb), a media
// table and the relay of worker 0, sessions built like the control lcore builds them,
// and Send(): one datagram through the relay and what came of it.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cstring>
#include <memory>
#include <random>

#include "media_session.h"  // dataplane/media/src: the sessions' runtime layout
#include "sbc/dataplane/media/media_relay.h"
#include "sbc/drivers/crypto/crypto_device.h"
#include "support/crypto_test_device.h"
#include "support/libsrtp_reference.h"
#include "support/packet_builder.h"
#include "support/rtp_header.h"

namespace sbc::dataplane {

using testing::Bytes;
using testing::Ip;
using testing::Libsrtp;

inline constexpr const char* kDevice = "crypto_aesni_mb_media_test";
inline constexpr uint8_t kSlotA = 0, kSlotB = 1;

inline MediaEndpoint V4(const char* address, uint16_t port) {
  return {.family = Family::kIpv4, .address = Ip(address), .port = port};
}

inline SrtpMasterKey RandomMaster(std::mt19937& rng) {
  SrtpMasterKey m;
  for (auto& b : m.key) b = static_cast<uint8_t>(rng());
  for (auto& b : m.salt) b = static_cast<uint8_t>(rng());
  return m;
}

inline Bytes Rtp(uint32_t ssrc, uint16_t seq, uint32_t ts, std::mt19937& rng,
                 size_t payload = 160) {
  const std::array<uint8_t, 12> header = testing::RtpHeader(ssrc, seq, ts);
  Bytes p(header.begin(), header.end());
  for (size_t i = 0; i < payload; ++i) p.push_back(uint8_t(rng()));
  return p;
}

inline Bytes Rtcp(uint32_t ssrc) {
  Bytes p = {
      0x80,         200, 0x00, 0x06, uint8_t(ssrc >> 24), uint8_t(ssrc >> 16), uint8_t(ssrc >> 8),
      uint8_t(ssrc)};
  for (int i = 0; i < 20; ++i) p.push_back(uint8_t(i));
  return p;
}

class MediaRelayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bed_.Open(kDevice, 256, 255);
    device_ = &bed_.device();
    pool_ = bed_.pool();
    Libsrtp::Init();
  }
  static void TearDownTestSuite() { bed_.Close(); }
  void SetUp() override {
    budget_ = std::make_unique<ExtraSessionBudget>(extra_session_limit_);
    factory_ = std::make_unique<SrtpStreamFactory>(device_->id(), 1, device_->session_pool(),
                                                   device_->op_pool(), budget_.get());
    auto table = MediaTable::Create(64, nullptr, factory_.get());
    ASSERT_TRUE(table.has_value()) << table.error();
    table_ = std::move(*table);
    relay_ = std::make_unique<MediaRelay>(
        *table_,
        MediaCrypto{device_->id(), 0, device_->op_pool(), device_->session_pool(), budget_.get()});
    macs_[kSlotA] = {{0x02, 0xaa, 0, 0, 0, 0x01}};
    macs_[kSlotB] = {{0x02, 0xbb, 0, 0, 0, 0x01}};
  }
  void TearDown() override {
    relay_.reset();
    table_.reset();
    factory_.reset();
    EXPECT_EQ(budget_->in_use(), 0u) << "extra crypto sessions not given back";
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "packet buffers leaked";
  }

  // One frame through the parser and (if it is media) the relay: what became of it.
  struct FrameResult {
    DropReason parsed = kNotDropped;  // the parser's verdict
    bool media = false;               // MayBeMedia: the relay's to judge
    DropReason verdict = kNotDropped;
    uint8_t tx_slot = 0xff;
    Bytes frame;  // as relayed
  };
  FrameResult RelayFrame(const testing::FrameSpec& spec) {
    rte_mbuf* f = testing::BuildFrame(pool_, spec);
    FrameResult r;
    PacketMeta meta;
    r.parsed = ParseFrame(f, &meta);
    r.media = r.parsed == kNotDropped && table_->MayBeMedia(meta);
    if (r.media) {
      const uint16_t which = 0;
      bool held = false;
      relay_->Process(&f, &meta, &which, 1, macs_, rte_get_tsc_cycles(), &r.verdict, &r.tx_slot,
                      &held);
      EXPECT_FALSE(held) << "a software crypto device answers within the call";
      const uint8_t* d = rte_pktmbuf_mtod(f, const uint8_t*);
      if (r.verdict == kNotDropped) r.frame.assign(d, d + f->data_len);
    }
    rte_pktmbuf_free(f);
    return r;
  }

  SrtpStreamKeys Keys(const SrtpMasterKey& master) {
    auto keys = factory_->Derive(master);
    EXPECT_TRUE(keys.has_value());
    return keys.value_or(SrtpStreamKeys{});
  }

  // Leg A: a plain RTP gateway at a given address on port slot 0. Leg B: an SRTP phone
  // whose address is latched, on port slot 1.
  struct RtpToSrtp {
    MediaEndpoint a_remote = V4("203.0.113.5", 4000), a_local = V4("192.0.2.250", 20000);
    MediaEndpoint b_remote = V4("198.51.100.7", 5000), b_local = V4("192.0.2.250", 20002);
    SrtpMasterKey phone_key, our_key;  // what B sends with; what we send B with
  };
  RtpToSrtp AddRtpToSrtp(uint64_t id) {
    RtpToSrtp s;
    s.phone_key = RandomMaster(rng_);
    s.our_key = RandomMaster(rng_);
    MediaSessionSpec spec{.id = id};
    spec.legs[0] = {.local = s.a_local, .remote = s.a_remote, .port_slot = kSlotA};
    spec.legs[1] = {.local = s.b_local,
                    .port_slot = kSlotB,
                    .srtp_from_leg = Keys(s.phone_key),
                    .srtp_to_leg = Keys(s.our_key)};
    const auto added = table_->Add(spec);
    EXPECT_TRUE(added.has_value()) << added.error();
    return s;
  }

  // What came of one datagram sent from `from` to `to` (our relay port).
  struct Result {
    DropReason verdict = kNotDropped;
    uint8_t tx_slot = 0xff;
    MediaEndpoint source, destination;
    Bytes payload;
    std::array<uint8_t, 6> eth_src{}, eth_dst{};
    bool checksums_ok = false;
  };
  // One datagram into the relay as the worker hands it over; `held`: the crypto
  // device still has it, and it comes out of a later relay_->Poll().
  struct Offered {
    rte_mbuf* frame;
    DropReason verdict = kNotDropped;
    uint8_t tx_slot = 0xff;
    bool held = false;
  };
  Offered Offer(const MediaEndpoint& from, const MediaEndpoint& to, const Bytes& payload) {
    const testing::FrameSpec spec =
        testing::UdpDatagram(from.address, from.port, to.address, to.port, payload);
    Offered o{.frame = testing::BuildFrame(pool_, spec)};
    PacketMeta meta;
    EXPECT_EQ(ParseFrame(o.frame, &meta), kNotDropped);
    EXPECT_TRUE(table_->MayBeMedia(meta));
    const uint16_t which = 0;
    relay_->Process(&o.frame, &meta, &which, 1, macs_, rte_get_tsc_cycles(), &o.verdict, &o.tx_slot,
                    &o.held);
    return o;
  }
  Result Send(const MediaEndpoint& from, const MediaEndpoint& to, const Bytes& payload) {
    const Offered o = Offer(from, to, payload);
    EXPECT_FALSE(o.held) << "a software crypto device answers within the call";
    return Outcome(o.frame, o.verdict, o.tx_slot);
  }
  // What the relay made of frame `f` (freed after).
  Result Outcome(rte_mbuf* f, DropReason verdict, uint8_t slot) {
    Result r;
    r.verdict = verdict;
    r.tx_slot = slot;
    if (verdict == kNotDropped) {
      const uint8_t* d = rte_pktmbuf_mtod(f, const uint8_t*);
      std::memcpy(r.eth_dst.data(), d, 6);
      std::memcpy(r.eth_src.data(), d + 6, 6);
      auto* ip = rte_pktmbuf_mtod_offset(f, rte_ipv4_hdr*, 14);
      auto* udp = rte_pktmbuf_mtod_offset(f, rte_udp_hdr*, 34);
      std::memcpy(r.source.address.data(), &ip->src_addr, 4);
      std::memcpy(r.destination.address.data(), &ip->dst_addr, 4);
      r.source.port = rte_be_to_cpu_16(udp->src_port);
      r.destination.port = rte_be_to_cpu_16(udp->dst_port);
      r.payload.assign(d + 42, d + f->pkt_len);
      // A correct UDP checksum sums, with the pseudo-header, to 0xffff.
      const uint16_t stored = udp->dgram_cksum;
      udp->dgram_cksum = 0;
      const uint16_t expected = rte_ipv4_udptcp_cksum(ip, udp);
      udp->dgram_cksum = stored;
      r.checksums_ok = rte_ipv4_cksum(ip) == 0 && stored == expected &&
                       rte_be_to_cpu_16(ip->total_length) == f->pkt_len - 14 &&
                       rte_be_to_cpu_16(udp->dgram_len) == f->pkt_len - 34;
    }
    rte_pktmbuf_free(f);
    return r;
  }

  inline static testing::CryptoTestDevice bed_;
  inline static drivers::crypto::CryptoDevice* device_ = nullptr;
  inline static rte_mempool* pool_ = nullptr;
  uint32_t extra_session_limit_ = 64;  // set before SetUp to try a smaller budget
  std::unique_ptr<ExtraSessionBudget> budget_;
  std::unique_ptr<SrtpStreamFactory> factory_;
  std::unique_ptr<MediaTable> table_;
  std::unique_ptr<MediaRelay> relay_;
  std::array<rte_ether_addr, 2> macs_{};
  std::mt19937 rng_{3};
};

}  // namespace sbc::dataplane
