// The SRTP engine on the real crypto device (crypto_aesni_mb, libipsec-mb): RFC 3711
// appendix B and RFC 7714 vectors for key derivation and every suite; streams of
// thousands of packets (sequence wrap and ROC increment, reordering, loss) checked
// bit for bit against libsrtp2 in both directions; tampered, replayed, too old and
// wrong-key packets refused and counted; a new SSRC taken only once it authenticates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rte_bus_vdev.h>
#include <rte_mbuf.h>
#include <srtp2/srtp.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "sbc/dataplane/srtp/srtp_batch.h"
#include "sbc/drivers/crypto/crypto_device.h"
#include "support/crypto_test_device.h"
#include "support/holding_crypto_queue.h"
#include "support/libsrtp_reference.h"
#include "support/run_process.h"

namespace sbc::dataplane {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Hex(std::string text) {
  text.erase(std::remove_if(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\n'; }),
             text.end());
  Bytes out;
  for (size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
  return out;
}

// Where the RTP packet starts in a frame: Ethernet + IPv4 + UDP, as the relay sees it.
constexpr uint16_t kOffset = 42;
constexpr const char* kDevice = "crypto_aesni_mb_srtp_test";

using testing::Libsrtp;

class SrtpEngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    bed_.Open(kDevice, 512, 1023);
    device_ = &bed_.device();
    pool_ = bed_.pool();
    Libsrtp::Init();
  }
  static void TearDownTestSuite() { bed_.Close(); }
  void SetUp() override {
    factory_ = std::make_unique<SrtpStreamFactory>(device_->id(), 1, device_->session_pool(),
                                                   device_->op_pool());
    batch_ =
        std::make_unique<SrtpBatch>(device_->id(), 0, device_->op_pool(), device_->session_pool());
  }
  void TearDown() override {
    for (SrtpStream* s : streams_) {
      factory_->Release(s);
      delete s;
    }
    batch_.reset();
    factory_.reset();
    EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "packet buffers leaked";
  }

  SrtpStream* Stream(const SrtpStreamKeys& keys, SrtpDirection direction) {
    auto* s = new SrtpStream();
    streams_.push_back(s);
    auto ok = factory_->Build(keys, direction, s);
    EXPECT_TRUE(ok.has_value()) << ok.error();
    // The lines to ask for ahead: the sessions' key schedules are somewhere in them.
    EXPECT_NE(s->session_lines, 0u);
    return s;
  }
  SrtpStream* Stream(const SrtpMasterKey& master, SrtpDirection direction) {
    auto keys = factory_->Derive(master);
    EXPECT_TRUE(keys.has_value()) << keys.error();
    return Stream(keys.value_or(SrtpStreamKeys{}), direction);
  }

  // One packet through the engine: the bytes out, or the refusal.
  struct Out {
    SrtpResult result;
    Bytes bytes;
  };
  std::vector<Out> Process(const std::vector<Bytes>& packets, bool rtcp, SrtpStream* stream) {
    std::vector<Out> out(packets.size());
    std::vector<rte_mbuf*> held;
    SrtpDone done[SrtpBatch::kMaxBurst];
    auto run = [&] {
      const uint16_t n = batch_->Run(done);
      for (uint16_t i = 0; i < n; ++i) {
        Out& o = out[done[i].user];
        o.result = done[i].result;
        if (o.result == SrtpResult::kOk) {
          const uint8_t* p = rte_pktmbuf_mtod_offset(done[i].m, const uint8_t*, kOffset);
          o.bytes.assign(p, p + done[i].m->pkt_len - kOffset);
        }
        rte_pktmbuf_free(done[i].m);
      }
    };
    for (size_t i = 0; i < packets.size(); ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      char* room = rte_pktmbuf_append(m, static_cast<uint16_t>(kOffset + packets[i].size()));
      std::memset(room, 0xee, kOffset);
      std::memcpy(room + kOffset, packets[i].data(), packets[i].size());
      const SrtpResult r = batch_->Add(m, kOffset, rtcp, stream, i);
      if (r != SrtpResult::kOk) {
        out[i].result = r;
        rte_pktmbuf_free(m);
      }
      if (batch_->full()) run();
    }
    run();
    return out;
  }
  Out One(const Bytes& packet, bool rtcp, SrtpStream* stream) {
    return Process({packet}, rtcp, stream)[0];
  }
  // The batch from now on drives `queue`, and gives up on an op as soon as the device
  // has nothing more to give back.
  void DriveThrough(testing::HoldingCryptoQueue& queue) {
    batch_ =
        std::make_unique<SrtpBatch>(device_->id(), 0, device_->op_pool(), device_->session_pool(),
                                    SrtpBatch::Options{.queue = &queue, .collect_bound_us = 0});
  }

  static testing::CryptoTestDevice bed_;
  static drivers::crypto::CryptoDevice* device_;
  static rte_mempool* pool_;
  std::unique_ptr<SrtpStreamFactory> factory_;
  std::unique_ptr<SrtpBatch> batch_;
  std::vector<SrtpStream*> streams_;
};

testing::CryptoTestDevice SrtpEngineTest::bed_;
drivers::crypto::CryptoDevice* SrtpEngineTest::device_ = nullptr;
rte_mempool* SrtpEngineTest::pool_ = nullptr;

SrtpMasterKey Master(SrtpSuite suite, const Bytes& key, const Bytes& salt) {
  SrtpMasterKey m;
  m.suite = suite;
  std::memcpy(m.key, key.data(), key.size());
  std::memcpy(m.salt, salt.data(), salt.size());
  return m;
}

// Session keys given directly (the RFC 7714 and RFC 3711 B.2 vectors start there).
SrtpStreamKeys SessionKeys(SrtpSuite suite, const Bytes& key, const Bytes& salt) {
  SrtpStreamKeys k;
  k.suite = suite;
  for (SrtpSessionKeys* s : {&k.rtp, &k.rtcp}) {
    std::memcpy(s->cipher, key.data(), key.size());
    std::memcpy(s->salt, salt.data(), salt.size());
  }
  return k;
}

TEST_F(SrtpEngineTest, KeyDerivationMatchesRfc3711AppendixB3) {
  auto keys = factory_->Derive(Master(SrtpSuite::kAesCm128HmacSha1_80,
                                      Hex("E1F97A0D3E018BE0D64FA32C06DE4139"),
                                      Hex("0EC675AD498AFEEBB6960B3AABE6")));
  ASSERT_TRUE(keys.has_value()) << keys.error();
  EXPECT_EQ(Bytes(keys->rtp.cipher, keys->rtp.cipher + 16),
            Hex("C61E7A93744F39EE10734AFE3FF7A087"));
  EXPECT_EQ(Bytes(keys->rtp.salt, keys->rtp.salt + 14), Hex("30CBBC08863D8C85D49DB34A9AE1"));
  EXPECT_EQ(Bytes(keys->rtp.auth, keys->rtp.auth + 20),
            Hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

TEST_F(SrtpEngineTest, AesCmKeystreamMatchesRfc3711AppendixB2) {
  // A zero payload encrypts to the keystream itself (SSRC 0, index 0).
  SrtpStream* s =
      Stream(SessionKeys(SrtpSuite::kAesCm128HmacSha1_80, Hex("2B7E151628AED2A6ABF7158809CF4F3C"),
                         Hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")),
             SrtpDirection::kProtect);
  Bytes packet(12 + 48, 0);
  packet[0] = 0x80;
  const Out out = One(packet, false, s);
  ASSERT_EQ(out.result, SrtpResult::kOk);
  ASSERT_EQ(out.bytes.size(), 12u + 48 + 10);
  EXPECT_EQ(Bytes(out.bytes.begin() + 12, out.bytes.begin() + 60),
            Hex("E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB "
                "41E95B3BB0A2E8DD477901E4FCA894C0"));
}

TEST_F(SrtpEngineTest, AesCmHmacSha1PacketMatchesLibsrtpsKnownAnswer) {
  // libsrtp's own known-answer packet: master key in, so KDF, AES-CM and HMAC together.
  const SrtpMasterKey master =
      Master(SrtpSuite::kAesCm128HmacSha1_80, Hex("e1f97a0d3e018be0d64fa32c06de4139"),
             Hex("0ec675ad498afeebb6960b3aabe6"));
  const Bytes plain = Hex("800f1234decafbadcafebabeabababababababababababababababab");
  const Bytes expected =
      Hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
  EXPECT_EQ(One(plain, false, Stream(master, SrtpDirection::kProtect)).bytes, expected);
  EXPECT_EQ(One(expected, false, Stream(master, SrtpDirection::kUnprotect)).bytes, plain);
}

struct AeadVector {
  SrtpSuite suite;
  const char* key;
  const char* srtp;
  const char* srtcp;
};

TEST_F(SrtpEngineTest, AeadPacketsMatchRfc7714Sections16And17) {
  const Bytes salt = Hex("517569642070726f2071756f");
  const Bytes rtp =
      Hex("8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465"
          "732074726573");
  const Bytes rtcp =
      Hex("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeef"
          "deadbeefdeadbeef");
  for (const AeadVector& v :
       {AeadVector{SrtpSuite::kAeadAes128Gcm, "000102030405060708090a0b0c0d0e0f",
                   "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47"
                   "a51c7d19b36de3adf"
                   "8833899d7f27beb16a9152cf765ee4390cce",
                   "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fd"
                   "a4ce09b4686303ded"
                   "0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"},
        AeadVector{SrtpSuite::kAeadAes256Gcm,
                   "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
                   "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0"
                   "276ffae0f1ba63799"
                   "b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
                   "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555b"
                   "e8415f658c61de047"
                   "6f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4"}}) {
    SCOPED_TRACE(SrtpSuiteName(v.suite));
    const SrtpStreamKeys keys = SessionKeys(v.suite, Hex(v.key), salt);
    SrtpStream* out = Stream(keys, SrtpDirection::kProtect);
    SrtpStream* in = Stream(keys, SrtpDirection::kUnprotect);
    EXPECT_EQ(One(rtp, false, out).bytes, Hex(v.srtp));
    EXPECT_EQ(One(Hex(v.srtp), false, in).bytes, rtp);
    out->next_rtcp_index = 0x5d4;
    EXPECT_EQ(One(rtcp, true, out).bytes, Hex(v.srtcp));
    EXPECT_EQ(One(Hex(v.srtcp), true, in).bytes, rtcp);
  }
}

constexpr SrtpSuite kSuites[] = {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32,
                                 SrtpSuite::kAeadAes128Gcm, SrtpSuite::kAeadAes256Gcm};

SrtpMasterKey RandomMaster(SrtpSuite suite, std::mt19937& rng) {
  SrtpMasterKey m;
  m.suite = suite;
  for (auto& b : m.key) b = static_cast<uint8_t>(rng());
  for (auto& b : m.salt) b = static_cast<uint8_t>(rng());
  return m;
}

// `count` RTP packets of one SSRC from sequence number `first_seq` (wrapping past
// 65535, so the ROC increments), payloads of 20..200 random bytes.
std::vector<Bytes> RtpStream(uint32_t ssrc, uint16_t first_seq, int count, std::mt19937& rng) {
  std::vector<Bytes> packets;
  for (int i = 0; i < count; ++i) {
    const uint16_t seq = static_cast<uint16_t>(first_seq + i);
    const uint32_t ts = 160u * static_cast<uint32_t>(i);
    Bytes p = {0x80,
               0x00,
               static_cast<uint8_t>(seq >> 8),
               static_cast<uint8_t>(seq),
               static_cast<uint8_t>(ts >> 24),
               static_cast<uint8_t>(ts >> 16),
               static_cast<uint8_t>(ts >> 8),
               static_cast<uint8_t>(ts),
               static_cast<uint8_t>(ssrc >> 24),
               static_cast<uint8_t>(ssrc >> 16),
               static_cast<uint8_t>(ssrc >> 8),
               static_cast<uint8_t>(ssrc)};
    const size_t payload = 20 + rng() % 181;
    for (size_t k = 0; k < payload; ++k) p.push_back(static_cast<uint8_t>(rng()));
    packets.push_back(std::move(p));
  }
  return packets;
}

// Sender reports of one SSRC with random report blocks.
std::vector<Bytes> RtcpStream(uint32_t ssrc, int count, std::mt19937& rng) {
  std::vector<Bytes> packets;
  for (int i = 0; i < count; ++i) {
    Bytes p = {0x80,
               200,
               0x00,
               0x06,
               static_cast<uint8_t>(ssrc >> 24),
               static_cast<uint8_t>(ssrc >> 16),
               static_cast<uint8_t>(ssrc >> 8),
               static_cast<uint8_t>(ssrc)};
    for (int k = 0; k < 20; ++k) p.push_back(static_cast<uint8_t>(rng()));
    packets.push_back(std::move(p));
  }
  return packets;
}

TEST_F(SrtpEngineTest, WhatWeProtectLibsrtpDecryptsBitExactly) {
  std::mt19937 rng(7);
  for (SrtpSuite suite : kSuites) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    const SrtpMasterKey master = RandomMaster(suite, rng);
    SrtpStream* ours = Stream(master, SrtpDirection::kProtect);
    Libsrtp theirs(master, false);
    // 3000 packets from sequence 64000: the ROC goes 0 -> 1 on the way.
    std::vector<Bytes> plain = RtpStream(0x11223344, 64000, 3000, rng);
    // Relayed packets arrive out of order at times: swap neighbours now and then.
    for (size_t i = 1; i < plain.size(); i += 7) std::swap(plain[i - 1], plain[i]);
    const std::vector<Out> protected_ = Process(plain, false, ours);
    for (size_t i = 0; i < plain.size(); ++i) {
      ASSERT_EQ(protected_[i].result, SrtpResult::kOk) << i;
      ASSERT_EQ(theirs.Run(protected_[i].bytes, false, false), plain[i]) << "packet " << i;
    }
    EXPECT_EQ(ours->rtp_index.roc(), 1u);
    const std::vector<Bytes> reports = RtcpStream(0x11223344, 300, rng);
    const std::vector<Out> protected_rtcp = Process(reports, true, ours);
    for (size_t i = 0; i < reports.size(); ++i) {
      ASSERT_EQ(protected_rtcp[i].result, SrtpResult::kOk);
      ASSERT_EQ(theirs.Run(protected_rtcp[i].bytes, true, false), reports[i]) << "report " << i;
    }
    EXPECT_EQ(ours->counters.packets, 3300u);
  }
}

TEST_F(SrtpEngineTest, WhatLibsrtpProtectsWeAcceptThroughLossAndReordering) {
  std::mt19937 rng(11);
  for (SrtpSuite suite : kSuites) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    const SrtpMasterKey master = RandomMaster(suite, rng);
    Libsrtp theirs(master, true);
    SrtpStream* ours = Stream(master, SrtpDirection::kUnprotect);
    const std::vector<Bytes> plain = RtpStream(0xcafe0001, 65000, 4000, rng);
    std::vector<size_t> order;
    for (size_t i = 0; i < plain.size(); ++i)
      if (rng() % 20 != 0) order.push_back(i);  // 5% lost
    for (size_t i = 0; i + 8 < order.size(); i += 13)
      std::swap(order[i], order[i + 1 + rng() % 8]);  // late ones
    std::vector<Bytes> wire;
    std::vector<Bytes> sent;
    for (const Bytes& p : plain) sent.push_back(theirs.Run(p, false, true));
    for (size_t i : order) wire.push_back(sent[i]);
    const std::vector<Out> out = Process(wire, false, ours);
    for (size_t k = 0; k < order.size(); ++k) {
      ASSERT_EQ(out[k].result, SrtpResult::kOk) << "packet " << order[k];
      ASSERT_EQ(out[k].bytes, plain[order[k]]) << "packet " << order[k];
    }
    EXPECT_EQ(ours->counters.packets, order.size());
    EXPECT_EQ(ours->counters.auth_failures + ours->counters.replays + ours->counters.malformed, 0u);
    EXPECT_EQ(ours->rtp_index.roc(), 1u);

    const std::vector<Bytes> reports = RtcpStream(0xcafe0001, 200, rng);
    std::vector<Bytes> protected_reports;
    for (const Bytes& r : reports) protected_reports.push_back(theirs.Run(r, true, true));
    std::swap(protected_reports[3], protected_reports[5]);
    const std::vector<Out> rtcp = Process(protected_reports, true, ours);
    for (size_t i = 0; i < reports.size(); ++i) {
      const size_t original = i == 3 ? 5 : i == 5 ? 3 : i;
      ASSERT_EQ(rtcp[i].result, SrtpResult::kOk) << i;
      EXPECT_EQ(rtcp[i].bytes, reports[original]) << i;
    }
  }
}

TEST_F(SrtpEngineTest, ForgedReplayedOldAndWrongKeyPacketsAreRefusedAndCounted) {
  std::mt19937 rng(13);
  for (SrtpSuite suite : kSuites) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    const SrtpMasterKey master = RandomMaster(suite, rng);
    Libsrtp theirs(master, true);
    Libsrtp stranger(RandomMaster(suite, rng), true);
    SrtpStream* ours = Stream(master, SrtpDirection::kUnprotect);
    const std::vector<Bytes> plain = RtpStream(0x0a0b0c0d, 100, 200, rng);
    std::vector<Bytes> wire;
    for (const Bytes& p : plain) wire.push_back(theirs.Run(p, false, true));

    for (int i = 0; i < 50; ++i) ASSERT_EQ(One(wire[i], false, ours).result, SrtpResult::kOk);
    EXPECT_EQ(One(wire[10], false, ours).result, SrtpResult::kReplayed);
    Bytes forged = wire[50];
    forged[20] ^= 0x01;
    EXPECT_EQ(One(forged, false, ours).result, SrtpResult::kAuthFailed);
    EXPECT_EQ(One(stranger.Run(plain[50], false, true), false, ours).result,
              SrtpResult::kAuthFailed);
    // Neither forgery moved the window: the genuine packet 50 still goes through.
    EXPECT_EQ(One(wire[50], false, ours).bytes, plain[50]);
    for (int i = 51; i < 200; ++i) ASSERT_EQ(One(wire[i], false, ours).result, SrtpResult::kOk);
    EXPECT_EQ(One(wire[60], false, ours).result,
              SrtpResult::kTooOld);  // 139 behind a 64-packet window
    EXPECT_EQ(One(Bytes(wire[0].begin(), wire[0].begin() + 11), false, ours).result,
              SrtpResult::kMalformed);
    // Two copies of one packet in the same burst: only the first counts.
    const Bytes last = theirs.Run(RtpStream(0x0a0b0c0d, 300, 1, rng)[0], false, true);
    const std::vector<Out> twice = Process({last, last}, false, ours);
    EXPECT_EQ(twice[0].result, SrtpResult::kOk);
    EXPECT_EQ(twice[1].result, SrtpResult::kReplayed);
    // Forged and replayed SRTCP likewise.
    const Bytes report = theirs.Run(RtcpStream(0x0a0b0c0d, 1, rng)[0], true, true);
    Bytes forged_report = report;
    forged_report[10] ^= 0x80;
    EXPECT_EQ(One(forged_report, true, ours).result, SrtpResult::kAuthFailed);
    EXPECT_EQ(One(report, true, ours).result, SrtpResult::kOk);
    EXPECT_EQ(One(report, true, ours).result, SrtpResult::kReplayed);

    EXPECT_EQ(ours->counters.packets, 200u + 1 + 1);
    EXPECT_EQ(ours->counters.auth_failures, 3u);
    EXPECT_EQ(ours->counters.replays, 4u);
    EXPECT_EQ(ours->counters.malformed, 1u);
  }
}

TEST_F(SrtpEngineTest, TheSenderNeverEncryptsTwoPacketsUnderOneIndex) {
  std::mt19937 rng(17);
  SrtpStream* ours =
      Stream(RandomMaster(SrtpSuite::kAesCm128HmacSha1_80, rng), SrtpDirection::kProtect);
  const std::vector<Bytes> plain = RtpStream(0x01020304, 500, 2, rng);
  Bytes same_seq_other_payload = plain[1];
  same_seq_other_payload[0] = 0x80;
  same_seq_other_payload[2] = plain[0][2];
  same_seq_other_payload[3] = plain[0][3];
  const std::vector<Out> out = Process({plain[0], same_seq_other_payload}, false, ours);
  EXPECT_EQ(out[0].result, SrtpResult::kOk);
  EXPECT_EQ(out[1].result, SrtpResult::kReplayed) << "keystream reuse";
}

TEST_F(SrtpEngineTest, ANewSsrcIsTakenOnlyOnceItAuthenticates) {
  std::mt19937 rng(19);
  for (SrtpSuite suite : kSuites) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    const SrtpMasterKey master = RandomMaster(suite, rng);
    Libsrtp theirs(master, true);
    SrtpStream* ours = Stream(master, SrtpDirection::kUnprotect);
    const std::vector<Bytes> a = RtpStream(0xaaaa0001, 40000, 20, rng);
    const std::vector<Bytes> b = RtpStream(0xbbbb0002, 7, 5, rng);
    std::vector<Bytes> wire_a, wire_b;
    for (const Bytes& p : a) wire_a.push_back(theirs.Run(p, false, true));
    for (const Bytes& p : b) wire_b.push_back(theirs.Run(p, false, true));
    for (int i = 0; i < 10; ++i) ASSERT_EQ(One(wire_a[i], false, ours).result, SrtpResult::kOk);
    Bytes spoofed = wire_b[0];
    spoofed.back() ^= 0x01;
    EXPECT_EQ(One(spoofed, false, ours).result, SrtpResult::kAuthFailed);
    EXPECT_EQ(ours->ssrc, 0xaaaa0001u) << "a forged packet moved the stream";
    EXPECT_EQ(One(wire_a[10], false, ours).result, SrtpResult::kOk);
    EXPECT_EQ(One(wire_a[5], false, ours).result, SrtpResult::kReplayed);
    // The far end really restarted with a new SSRC: its first genuine packet switches.
    EXPECT_EQ(One(wire_b[0], false, ours).bytes, b[0]);
    EXPECT_EQ(ours->ssrc, 0xbbbb0002u);
    for (int i = 1; i < 5; ++i) EXPECT_EQ(One(wire_b[i], false, ours).bytes, b[i]);
  }
}

TEST_F(SrtpEngineTest, AeadHeadersWithCsrcsAndExtensionsInteroperate) {
  std::mt19937 rng(23);
  for (SrtpSuite suite :
       {SrtpSuite::kAeadAes128Gcm, SrtpSuite::kAeadAes256Gcm, SrtpSuite::kAesCm128HmacSha1_80}) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    const SrtpMasterKey master = RandomMaster(suite, rng);
    SrtpStream* ours = Stream(master, SrtpDirection::kProtect);
    Libsrtp theirs(master, false);
    std::vector<Bytes> plain = RtpStream(0x5eed0001, 1, 30, rng);
    for (size_t i = 0; i < plain.size(); ++i) {
      Bytes& p = plain[i];
      const int csrcs = static_cast<int>(i % 3);
      p[0] = static_cast<uint8_t>(0x80 | csrcs | (i % 2 ? 0x10 : 0));
      Bytes extra;
      for (int c = 0; c < csrcs; ++c)
        extra.insert(extra.end(), {0x10, 0x20, 0x30, static_cast<uint8_t>(c)});
      if (i % 2)
        extra.insert(extra.end(), {0xbe, 0xde, 0x00, 0x01, 0x10, 0x7f, 0x00,
                                   0x00});  // one-byte ext, audio level
      p.insert(p.begin() + 12, extra.begin(), extra.end());
    }
    // Header lengths 12, 16, 20, 24 and 28 bytes: five AEAD sessions, made as met.
    const std::vector<Out> out = Process(plain, false, ours);
    for (size_t i = 0; i < plain.size(); ++i) {
      ASSERT_EQ(out[i].result, SrtpResult::kOk) << i;
      EXPECT_EQ(theirs.Run(out[i].bytes, false, false), plain[i]) << i;
    }
    if (!SizesOf(suite).aead) continue;
    // A sixth length still fits; a seventh is refused, not mis-authenticated.
    std::vector<Bytes> more = RtpStream(0x5eed0001, 31, 2, rng);
    for (int k = 0; k < 2; ++k) {
      more[k][0] = static_cast<uint8_t>(0x80 | (5 + k));
      more[k].insert(more[k].begin() + 12, static_cast<size_t>(4 * (5 + k)), uint8_t{0x42});
    }
    const std::vector<Out> extra = Process(more, false, ours);
    EXPECT_EQ(extra[0].result, SrtpResult::kOk);
    EXPECT_EQ(theirs.Run(extra[0].bytes, false, false), more[0]);
    EXPECT_EQ(extra[1].result, SrtpResult::kUnsupported);
  }
}

// A device that keeps an op (slow, or it lost it) does not stall the worker: past the
// bound the packet comes back kDeviceLost and is not the caller's (the device may still
// write it); when the op returns it is freed, packet and all, and serves again.
TEST_F(SrtpEngineTest, AnOpTheDeviceKeepsIsGivenUpOnAndItsPacketFreedWhenItReturns) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  DriveThrough(queue);
  std::mt19937 rng(31);
  const SrtpMasterKey master = RandomMaster(SrtpSuite::kAesCm128HmacSha1_80, rng);
  SrtpStream* ours = Stream(master, SrtpDirection::kProtect);
  Libsrtp theirs(master, false);
  const std::vector<Bytes> plain = RtpStream(0x0badcafe, 1, 3, rng);
  queue.HoldNext(1);
  const std::vector<Out> out = Process(plain, false, ours);
  EXPECT_EQ(out[0].result, SrtpResult::kDeviceLost);
  for (size_t i = 1; i < plain.size(); ++i) {
    ASSERT_EQ(out[i].result, SrtpResult::kOk) << i;
    EXPECT_EQ(theirs.Run(out[i].bytes, false, false), plain[i]) << i;
  }
  EXPECT_EQ(batch_->stranded(), 1u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 1u) << "freed while the device holds it";

  queue.Release();
  const std::vector<Bytes> next = RtpStream(0x0badcafe, 4, 1, rng);
  const std::vector<Out> after = Process(next, false, ours);
  ASSERT_EQ(after[0].result, SrtpResult::kOk);
  EXPECT_EQ(theirs.Run(after[0].bytes, false, false), next[0]);
  EXPECT_EQ(batch_->stranded(), 0u);
  EXPECT_EQ(batch_->returned_late(), 1u);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "the late packet was freed";
}

// Ops a device keeps cost the batch capacity only while it keeps them: it owns enough
// for two bursts out at once and kSpareOps more; once the device keeps that many, the
// packets beyond are refused (kDeviceError, never a hang), and all of it comes back
// with the ops.
TEST_F(SrtpEngineTest, OpsTheDeviceKeepsCostCapacityOnlyUntilTheyReturn) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  DriveThrough(queue);
  std::mt19937 rng(37);
  SrtpStream* ours = Stream(RandomMaster(SrtpSuite::kAeadAes128Gcm, rng), SrtpDirection::kProtect);
  queue.HoldNext(SrtpBatch::kMaxInFlight);
  for (const Out& o : Process(RtpStream(0x1, 1, SrtpBatch::kMaxInFlight, rng), false, ours))
    EXPECT_EQ(o.result, SrtpResult::kDeviceLost);
  EXPECT_EQ(batch_->stranded(), SrtpBatch::kMaxInFlight);

  const std::vector<Out> short_of_ops =
      Process(RtpStream(0x1, 100, SrtpBatch::kSpareOps + 4, rng), false, ours);
  for (size_t i = 0; i < short_of_ops.size(); ++i)
    EXPECT_EQ(short_of_ops[i].result,
              i < SrtpBatch::kSpareOps ? SrtpResult::kOk : SrtpResult::kDeviceError)
        << i;

  queue.Release();
  (void)Process({}, false, ours);  // a poll with no SRTP still looks for them
  EXPECT_EQ(batch_->stranded(), 0u);
  EXPECT_EQ(batch_->returned_late(), SrtpBatch::kMaxInFlight);
  for (const Out& o : Process(RtpStream(0x1, 200, SrtpBatch::kMaxBurst, rng), false, ours))
    EXPECT_EQ(o.result, SrtpResult::kOk);
}

// Submit() does not wait for the device: while it holds the burst, Collect() gives
// nothing back (and gives nothing up before the bound); once it answers, the next
// Collect() finishes every packet as Run() would have.
TEST_F(SrtpEngineTest, ABurstIsSubmittedAndCollectedWhenTheDeviceHasAnswered) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  batch_ = std::make_unique<SrtpBatch>(
      device_->id(), 0, device_->op_pool(), device_->session_pool(),
      SrtpBatch::Options{.queue = &queue,
                         .collect_bound_us = testing::kEventDeadlineS * 1'000'000u});
  std::mt19937 rng(43);
  const SrtpMasterKey master = RandomMaster(SrtpSuite::kAeadAes128Gcm, rng);
  SrtpStream* ours = Stream(master, SrtpDirection::kProtect);
  Libsrtp theirs(master, false);
  const std::vector<Bytes> plain = RtpStream(0x3, 1, 3, rng);
  std::vector<rte_mbuf*> sent;
  for (size_t i = 0; i < plain.size(); ++i) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    char* room = rte_pktmbuf_append(m, static_cast<uint16_t>(kOffset + plain[i].size()));
    std::memcpy(room + kOffset, plain[i].data(), plain[i].size());
    ASSERT_EQ(batch_->Add(m, kOffset, false, ours, i), SrtpResult::kOk);
    sent.push_back(m);
  }
  queue.HoldNext(static_cast<uint16_t>(plain.size()));
  SrtpDone done[SrtpBatch::kOps];
  EXPECT_EQ(batch_->Submit(done), 0u);
  EXPECT_EQ(batch_->in_flight(), plain.size());
  EXPECT_EQ(batch_->Collect(done), 0u);
  EXPECT_EQ(batch_->in_flight(), plain.size()) << "given up on before the bound";
  EXPECT_EQ(batch_->stranded(), 0u);

  queue.Release();
  const uint16_t n = batch_->Collect(done);
  ASSERT_EQ(n, plain.size());
  EXPECT_EQ(batch_->in_flight(), 0u);
  for (uint16_t d = 0; d < n; ++d) {
    ASSERT_EQ(done[d].result, SrtpResult::kOk);
    ASSERT_EQ(done[d].m, sent[done[d].user]);
    const uint8_t* p = rte_pktmbuf_mtod_offset(done[d].m, const uint8_t*, kOffset);
    EXPECT_EQ(theirs.Run(Bytes(p, p + done[d].m->pkt_len - kOffset), false, false),
              plain[done[d].user])
        << done[d].user;
    rte_pktmbuf_free(done[d].m);
  }
}

// One enqueue per burst: what the device does not take is refused at once, not
// offered again and again while the worker waits.
TEST_F(SrtpEngineTest, WhatTheDeviceDoesNotTakeIsRefusedAfterOneEnqueue) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  DriveThrough(queue);
  std::mt19937 rng(41);
  SrtpStream* ours =
      Stream(RandomMaster(SrtpSuite::kAesCm128HmacSha1_80, rng), SrtpDirection::kProtect);
  queue.TakeAtMost(2);
  const std::vector<Out> out = Process(RtpStream(0x2, 1, 4, rng), false, ours);
  EXPECT_EQ(queue.enqueue_calls(), 1u);
  EXPECT_EQ(out[0].result, SrtpResult::kOk);
  EXPECT_EQ(out[1].result, SrtpResult::kOk);
  EXPECT_EQ(out[2].result, SrtpResult::kDeviceError);
  EXPECT_EQ(out[3].result, SrtpResult::kDeviceError);
}

}  // namespace
}  // namespace sbc::dataplane
