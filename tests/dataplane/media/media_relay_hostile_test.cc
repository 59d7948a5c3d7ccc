// Hostile input to the media relay: fragments and lengths that disagree with the frame
// (a table: frame in, drop reason or the exact frame relayed), a sender that moves
// between SSRCs (no (SSRC, index) is ever encrypted twice; no old packet
// authenticates again or moves a latch), AEAD header lengths from packets that never
// authenticate (no crypto session outlives them), LATCH_NEVER, and a crypto device that
// keeps a packet.
#include <rte_ip.h>
#include <rte_udp.h>

#include <functional>

#include "media_relay_fixture.h"
#include "support/holding_crypto_queue.h"
#include "support/run_process.h"

namespace sbc::dataplane {
namespace {

using testing::Bytes;
using testing::FrameSpec;
using testing::Ip;
using testing::Libsrtp;

// --- Fragments and lengths -----------------------------------------------------------

const MediaEndpoint kA4 = V4("203.0.113.5", 4000), kALocal4 = V4("192.0.2.250", 20000);
const MediaEndpoint kB4 = V4("198.51.100.7", 5000), kBLocal4 = V4("192.0.2.250", 20002);
MediaEndpoint V6(const char* address, uint16_t port) {
  return {.family = Family::kIpv6, .address = Ip(address), .port = port};
}
const MediaEndpoint kA6 = V6("2001:db8:1::5", 4000), kALocal6 = V6("2001:db8:2::250", 20010);
const MediaEndpoint kB6 = V6("2001:db8:3::7", 5000), kBLocal6 = V6("2001:db8:2::250", 20012);

Bytes Payload() {
  std::mt19937 rng(5);
  return Rtp(0xa, 7, 1120, rng);
}

// A datagram from leg A's remote to its relay port.
FrameSpec FromA(bool v6, Bytes payload = Payload()) {
  return v6 ? testing::UdpDatagram(kA6.address, kA6.port, kALocal6.address, kALocal6.port, payload,
                                   true)
            : testing::UdpDatagram(kA4.address, kA4.port, kALocal4.address, kALocal4.port, payload);
}

void SetUdpLength(uint8_t* udp, uint16_t length) {
  udp[4] = uint8_t(length >> 8);
  udp[5] = uint8_t(length);
}

// The frame the relay must send to B: from our relay port on B's side to B, a bare IP
// header, TTL 64, both checksums; B's link address as learnt, ours as the source.
Bytes ToB(bool v6, const Bytes& payload, rte_mempool* pool) {
  FrameSpec spec =
      v6 ? testing::UdpDatagram(kBLocal6.address, kBLocal6.port, kB6.address, kB6.port, payload,
                                true)
         : testing::UdpDatagram(kBLocal4.address, kBLocal4.port, kB4.address, kB4.port, payload);
  spec.ttl = 64;
  rte_mbuf* m = testing::BuildFrame(pool, spec);
  uint8_t* d = rte_pktmbuf_mtod(m, uint8_t*);
  const uint8_t link[6] = {0x02, 0, 0, 0, 0, 0x0a}, ours[6] = {0x02, 0xbb, 0, 0, 0, 0x01};
  std::memcpy(d, link, 6);
  std::memcpy(d + 6, ours, 6);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(d + 14 + (v6 ? 40 : 20));
  udp->dgram_cksum = 0;
  udp->dgram_cksum = v6 ? rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(d + 14), udp)
                        : rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(d + 14), udp);
  Bytes out(d, d + m->data_len);
  rte_pktmbuf_free(m);
  return out;
}

struct LengthCase {
  const char* label;
  std::function<FrameSpec()> frame;
  // What must become of it: dropped by the parser, by the relay, not taken as media
  // (the firewall's: `not_media`), or relayed as exactly `relayed(pool)`.
  DropReason parsed = kNotDropped;
  DropReason verdict = kNotDropped;
  bool not_media = false;
  std::function<Bytes(rte_mempool*)> relayed;
};
void PrintTo(const LengthCase& c, std::ostream* os) { *os << c.label; }

class MediaLengthTest : public MediaRelayTest, public ::testing::WithParamInterface<LengthCase> {
 protected:
  void SetUp() override {
    MediaRelayTest::SetUp();
    for (bool v6 : {false, true}) {
      MediaSessionSpec spec{.id = v6 ? 2u : 1u};
      spec.legs[0] = {
          .local = v6 ? kALocal6 : kALocal4, .remote = v6 ? kA6 : kA4, .port_slot = kSlotA};
      spec.legs[1] = {
          .local = v6 ? kBLocal6 : kBLocal4, .remote = v6 ? kB6 : kB4, .port_slot = kSlotB};
      ASSERT_TRUE(table_->Add(spec).has_value());
      // Each side speaks once, so both link addresses are known.
      const FrameSpec from_b = v6 ? testing::UdpDatagram(kB6.address, kB6.port, kBLocal6.address,
                                                         kBLocal6.port, Payload(), true)
                                  : testing::UdpDatagram(kB4.address, kB4.port, kBLocal4.address,
                                                         kBLocal4.port, Payload());
      ASSERT_EQ(RelayFrame(from_b).verdict, DropReason::kMediaLegNotReady);
      ASSERT_EQ(RelayFrame(FromA(v6)).verdict, kNotDropped);
    }
  }
};

TEST_P(MediaLengthTest, IsDroppedWithItsReasonOrRelayedExactly) {
  const LengthCase& c = GetParam();
  const FrameResult r = RelayFrame(c.frame());
  EXPECT_EQ(r.parsed, c.parsed) << DropReasonName(r.parsed);
  if (c.parsed != kNotDropped) return;
  EXPECT_EQ(r.media, !c.not_media);
  if (c.not_media) return;
  EXPECT_EQ(r.verdict, c.verdict) << DropReasonName(r.verdict);
  if (c.relayed) {
    EXPECT_EQ(r.tx_slot, kSlotB);
    EXPECT_EQ(r.frame, c.relayed(pool_));
  }
}

FrameSpec Edited(FrameSpec s, std::function<void(FrameSpec&)> edit) {
  edit(s);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Rows, MediaLengthTest,
    ::testing::Values(
        LengthCase{"v4_first_fragment_udp_length_65535",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.more_fragments = true;
                       s.mutate = [](uint8_t* f, uint16_t) { SetUdpLength(f + 34, 65535); };
                     });
                   },
                   kNotDropped, DropReason::kMediaFragment},
        LengthCase{"v4_first_fragment_udp_length_65502",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.more_fragments = true;
                       s.mutate = [](uint8_t* f, uint16_t) { SetUdpLength(f + 34, 65502); };
                     });
                   },
                   kNotDropped, DropReason::kMediaFragment},
        LengthCase{
            "v4_first_fragment_of_a_true_length",
            [] { return Edited(FromA(false), [](FrameSpec& s) { s.more_fragments = true; }); },
            kNotDropped, DropReason::kMediaFragment},
        LengthCase{
            "v4_later_fragment_is_the_firewalls",
            [] { return Edited(FromA(false), [](FrameSpec& s) { s.fragment_offset = 185; }); },
            kNotDropped, kNotDropped, true},
        LengthCase{"v6_first_fragment_udp_length_65535",
                   [] {
                     return Edited(FromA(true), [](FrameSpec& s) {
                       s.more_fragments = true;
                       s.mutate = [](uint8_t* f, uint16_t) {
                         SetUdpLength(f + 14 + 40 + 8, 65535);
                       };
                     });
                   },
                   kNotDropped, DropReason::kMediaFragment},
        LengthCase{
            "v6_first_fragment_of_a_true_length",
            [] { return Edited(FromA(true), [](FrameSpec& s) { s.more_fragments = true; }); },
            kNotDropped, DropReason::kMediaFragment},
        LengthCase{"udp_length_beyond_the_frame",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.mutate = [](uint8_t* f, uint16_t) { SetUdpLength(f + 34, 500); };
                     });
                   },
                   DropReason::kBadUdpLength},
        LengthCase{"udp_length_short_of_the_frame_trims_the_rest",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.mutate = [](uint8_t* f, uint16_t) { SetUdpLength(f + 34, 8 + 100); };
                     });
                   },
                   kNotDropped, kNotDropped, false,
                   [](rte_mempool* pool) {
                     Bytes p = Payload();
                     p.resize(100);
                     return ToB(false, p, pool);
                   }},
        LengthCase{"v4_options_are_not_relayed",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.ipv4_options = {1, 1, 1, 1};
                     });
                   },
                   kNotDropped, kNotDropped, false,
                   [](rte_mempool* pool) { return ToB(false, Payload(), pool); }},
        LengthCase{"v4_dont_fragment_and_flags_are_not_relayed",
                   [] {
                     return Edited(FromA(false), [](FrameSpec& s) {
                       s.mutate = [](uint8_t* f, uint16_t) {
                         f[14 + 6] = 0x40;  // DF
                         auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + 14);
                         ip->hdr_checksum = 0;
                         ip->hdr_checksum = rte_ipv4_cksum(ip);
                       };
                     });
                   },
                   kNotDropped, kNotDropped, false,
                   [](rte_mempool* pool) { return ToB(false, Payload(), pool); }},
        LengthCase{"v6_extension_headers_are_not_relayed",
                   [] {
                     return Edited(FromA(true),
                                   [](FrameSpec& s) { s.ipv6_destination_options = 2; });
                   },
                   kNotDropped, kNotDropped, false,
                   [](rte_mempool* pool) { return ToB(true, Payload(), pool); }},
        LengthCase{"v6_plain_datagram", [] { return FromA(true); }, kNotDropped, kNotDropped, false,
                   [](rte_mempool* pool) { return ToB(true, Payload(), pool); }}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

// UDP to a port in the relay range, but to an address that is not ours: the firewall
// judges it (it used to be taken, and dropped, as media).
TEST_F(MediaRelayTest, TrafficToOtherAddressesIsNeverTakenAsMedia) {
  MediaSessionSpec spec{.id = 3};
  spec.legs[0] = {.local = kALocal4, .remote = kA4, .port_slot = kSlotA};
  spec.legs[1] = {.local = kBLocal4, .remote = kB4, .port_slot = kSlotB};
  ASSERT_TRUE(table_->Add(spec).has_value());
  spec = {.id = 4};
  spec.legs[0] = {.local = V4("192.0.2.250", 20010), .remote = kA4, .port_slot = kSlotA};
  spec.legs[1] = {.local = V4("192.0.2.250", 20012), .remote = kB4, .port_slot = kSlotB};
  ASSERT_TRUE(table_->Add(spec).has_value());  // the relay range seen: 20000-20013
  std::mt19937 rng(1);
  EXPECT_TRUE(RelayFrame(FromA(false)).media);
  EXPECT_FALSE(RelayFrame(testing::UdpDatagram(kA4.address, 4000, Ip("192.0.2.77"), 20000,
                                               Rtp(1, 1, 0, rng)))
                   .media)
      << "another host's port 20000 behind the firewall";
  EXPECT_TRUE(RelayFrame(testing::UdpDatagram(kA4.address, 4000, kALocal4.address, 20006,
                                              Rtp(1, 1, 0, rng)))
                  .media)
      << "our address, a relay port no session holds: the relay's (media_no_session)";
}

// --- SSRCs ---------------------------------------------------------------------------------

// Plain RTP from A (anyone can choose its SSRCs) moves X -> Y -> X: X's index 2 was
// encrypted toward B once and is never encrypted again (with AES-CM that would be a
// two-time pad; with GCM a repeated nonce, which gives away the authentication key).
TEST_F(MediaRelayTest, OurSenderNeverEncryptsAnSsrcAndIndexTwice) {
  for (SrtpSuite suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm}) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    SrtpMasterKey phone = RandomMaster(rng_), ours = RandomMaster(rng_);
    phone.suite = ours.suite = suite;
    const uint16_t base = suite == SrtpSuite::kAeadAes128Gcm ? 26100 : 26000;
    const MediaEndpoint a_local = V4("192.0.2.250", base),
                        b_local = V4("192.0.2.250", uint16_t(base + 2));
    MediaSessionSpec spec{.id = base};
    spec.legs[0] = {.local = a_local, .remote = kA4, .port_slot = kSlotA};
    spec.legs[1] = {.local = b_local,
                    .remote = kB4,
                    .port_slot = kSlotB,
                    .srtp_from_leg = Keys(phone),
                    .srtp_to_leg = Keys(ours)};
    ASSERT_TRUE(table_->Add(spec).has_value());
    Libsrtp b_out(phone, true), b_in(ours, false);
    ASSERT_EQ(Send(kB4, b_local, b_out.Run(Rtp(0xb, 1, 0, rng_), false, true)).verdict,
              DropReason::kMediaLegNotReady);  // B's link learnt
    auto to_b = [&](uint32_t ssrc, uint16_t seq) {
      return Send(kA4, a_local, Rtp(ssrc, seq, 160u * seq, rng_));
    };
    for (uint16_t seq = 1; seq <= 3; ++seq) ASSERT_EQ(to_b(0x1111, seq).verdict, kNotDropped);
    for (uint16_t seq = 1; seq <= 3; ++seq) ASSERT_EQ(to_b(0x2222, seq).verdict, kNotDropped);
    EXPECT_EQ(to_b(0x1111, 2).verdict, DropReason::kMediaReplayed)
        << "X's index 2 again, with other plaintext";
    EXPECT_EQ(to_b(0x2222, 3).verdict, DropReason::kMediaReplayed);
    const Result next = to_b(0x1111, 4);
    ASSERT_EQ(next.verdict, kNotDropped) << "X goes on where it was";
    EXPECT_FALSE(b_in.Run(next.payload, false, false).empty()) << "and B decrypts it";
  }
}

// B (SRTP, latched) moves from SSRC X to Y. Captured packets of X, replayed from
// elsewhere, neither authenticate again nor move the latch.
TEST_F(MediaRelayTest, AReplayOfAnOldSsrcNeitherAuthenticatesNorLatches) {
  const RtpToSrtp s = AddRtpToSrtp(20);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true);
  const MediaEndpoint attacker = V4("198.51.100.66", 6666);
  ASSERT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 0, rng_)).verdict,
            DropReason::kMediaLegNotReady);
  std::vector<Bytes> captured;
  for (uint16_t seq = 1; seq <= 3; ++seq) {
    captured.push_back(phone_out.Run(Rtp(0x1111, seq, 160u * seq, rng_), false, true));
    ASSERT_EQ(Send(s.b_remote, s.b_local, captured.back()).verdict, kNotDropped) << seq;
  }
  for (uint16_t seq = 1; seq <= 3; ++seq)
    ASSERT_EQ(
        Send(s.b_remote, s.b_local, phone_out.Run(Rtp(0x2222, seq, 160u * seq, rng_), false, true))
            .verdict,
        kNotDropped);
  for (const Bytes& old : captured)
    EXPECT_EQ(Send(attacker, s.b_local, old).verdict, DropReason::kMediaReplayed);
  const MediaSession* session = table_->Sessions()[0];
  EXPECT_EQ(session->legs[1].remote, s.b_remote) << "the latch stayed";
  EXPECT_EQ(session->legs[1].counters.latches, 1u);
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 2, 160, rng_)).destination, s.b_remote);
}

// A stream carries at most SrtpStream::kSsrcs SSRCs under one key; a further one waits
// for new keys (it would otherwise push out an SSRC whose indexes must stay spent).
TEST_F(MediaRelayTest, AFifthSsrcUnderOneKeyIsRefused) {
  const RtpToSrtp s = AddRtpToSrtp(21);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true);
  ASSERT_EQ(Send(s.b_remote, s.b_local, phone_out.Run(Rtp(0xb, 1, 0, rng_), false, true)).verdict,
            DropReason::kMediaLegNotReady);
  for (uint32_t ssrc = 1; ssrc <= SrtpStream::kSsrcs; ++ssrc)
    ASSERT_EQ(Send(s.a_remote, s.a_local, Rtp(ssrc, 1, 0, rng_)).verdict, kNotDropped) << ssrc;
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(99, 1, 0, rng_)).verdict, DropReason::kMediaCrypto);
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(2, 2, 160, rng_)).verdict, kNotDropped)
      << "the four go on";
}

// --- AEAD header lengths -----------------------------------------------------------------

// An RTP header with `csrcs` contributing sources (4 bytes each): another AAD length.
Bytes WithCsrcs(Bytes rtp, uint8_t csrcs) {
  rtp[0] = uint8_t(0x80 | csrcs);
  rtp.insert(rtp.begin() + 12, size_t(4) * csrcs, 0x5a);
  return rtp;
}

// Packets with new header lengths that never authenticate: each gets a session on
// trial, freed at the end of its burst; only a genuine packet's session stays.
TEST_F(MediaRelayTest, AeadSessionsForHeaderLengthsLastOnlyOnceAPacketAuthenticates) {
  SrtpMasterKey phone = RandomMaster(rng_), ours = RandomMaster(rng_);
  phone.suite = ours.suite = SrtpSuite::kAeadAes128Gcm;
  MediaSessionSpec spec{.id = 22};
  spec.legs[0] = {.local = V4("192.0.2.250", 27000), .remote = kA4, .port_slot = kSlotA};
  spec.legs[1] = {.local = V4("192.0.2.250", 27002),
                  .port_slot = kSlotB,
                  .srtp_from_leg = Keys(phone),
                  .srtp_to_leg = Keys(ours)};
  ASSERT_TRUE(table_->Add(spec).has_value());
  const MediaLeg& leg = table_->Sessions()[0]->legs[1];
  const size_t free_before = rte_mempool_avail_count(device_->session_pool());
  Libsrtp stranger(RandomMaster(rng_), true);
  SrtpMasterKey forged_key = RandomMaster(rng_);
  forged_key.suite = SrtpSuite::kAeadAes128Gcm;
  Libsrtp forger(forged_key, true);
  for (int round = 0; round < 20; ++round)
    for (uint8_t csrcs = 1; csrcs <= 5; ++csrcs)
      EXPECT_EQ(Send(V4("198.51.100.66", 6666), V4("192.0.2.250", 27002),
                     forger.Run(WithCsrcs(Rtp(0xb, uint16_t(round * 5 + csrcs), 0, rng_), csrcs),
                                false, true))
                    .verdict,
                DropReason::kMediaAuthFailed);
  for (int i = 1; i < SrtpStream::kRtpSessions; ++i)
    EXPECT_EQ(leg.from_leg.rtp_sessions[i].session, nullptr) << "a forged packet's session stayed";
  EXPECT_EQ(rte_mempool_avail_count(device_->session_pool()), free_before)
      << "the pool lost sessions";
  EXPECT_EQ(budget_->in_use(), 0u);

  Libsrtp phone_out(phone, true);
  const Bytes genuine = WithCsrcs(Rtp(0xb, 500, 0, rng_), 2);
  EXPECT_EQ(
      Send(V4("198.51.100.7", 5000), V4("192.0.2.250", 27002), phone_out.Run(genuine, false, true))
          .verdict,
      DropReason::kMediaLegNotReady)
      << "authentic: latched, its session kept (A has not spoken: nowhere to send it yet)";
  EXPECT_EQ(budget_->in_use(), 1u);
}

class SmallBudgetTest : public MediaRelayTest {
 protected:
  SmallBudgetTest() { extra_session_limit_ = 1; }
};

// The budget bounds the extra sessions all streams together may hold: here one.
TEST_F(SmallBudgetTest, NewHeaderLengthsBeyondTheBudgetAreRefused) {
  SrtpMasterKey phone = RandomMaster(rng_), ours = RandomMaster(rng_);
  phone.suite = ours.suite = SrtpSuite::kAeadAes128Gcm;
  MediaSessionSpec spec{.id = 23};
  spec.legs[0] = {.local = V4("192.0.2.250", 28000), .remote = kA4, .port_slot = kSlotA};
  spec.legs[1] = {.local = V4("192.0.2.250", 28002),
                  .remote = kB4,
                  .port_slot = kSlotB,
                  .srtp_from_leg = Keys(phone),
                  .srtp_to_leg = Keys(ours)};
  ASSERT_TRUE(table_->Add(spec).has_value());
  Libsrtp phone_out(phone, true);
  ASSERT_EQ(
      Send(kB4, V4("192.0.2.250", 28002), phone_out.Run(Rtp(0xb, 1, 0, rng_), false, true)).verdict,
      DropReason::kMediaLegNotReady);
  // A's plain RTP with one CSRC: our sender's first extra session; with two: no room.
  EXPECT_EQ(Send(kA4, V4("192.0.2.250", 28000), WithCsrcs(Rtp(0xa, 1, 0, rng_), 1)).verdict,
            kNotDropped);
  EXPECT_EQ(Send(kA4, V4("192.0.2.250", 28000), WithCsrcs(Rtp(0xa, 2, 160, rng_), 2)).verdict,
            DropReason::kMediaCrypto);
  EXPECT_EQ(budget_->in_use(), 1u);
}

// --- Latching policy --------------------------------------------------------------------

TEST_F(MediaRelayTest, LatchNeverKeepsSrtpLegsFromLatchingToo) {
  SrtpMasterKey phone = RandomMaster(rng_), ours = RandomMaster(rng_);
  MediaSessionSpec spec{.id = 24};
  spec.legs[0] = {.local = V4("192.0.2.250", 29000),
                  .remote = kA4,
                  .port_slot = kSlotA,
                  .latching = Latching::kNever};
  spec.legs[1] = {.local = V4("192.0.2.250", 29002),
                  .port_slot = kSlotB,
                  .latching = Latching::kNever,
                  .srtp_from_leg = Keys(phone),
                  .srtp_to_leg = Keys(ours)};
  ASSERT_TRUE(table_->Add(spec).has_value());
  Libsrtp phone_out(phone, true);
  EXPECT_EQ(
      Send(kB4, V4("192.0.2.250", 29002), phone_out.Run(Rtp(0xb, 1, 0, rng_), false, true)).verdict,
      DropReason::kMediaWrongSource)
      << "authentic, but nothing latches under LATCH_NEVER";
  EXPECT_FALSE(table_->Sessions()[0]->legs[1].remote_known);
}

// A crypto device that keeps an SRTP packet past the bound (slow, or it lost the op):
// the relay drops it as media_crypto_lost and leaves it to the device (the frame is no
// longer the worker's to free or send); it is freed when the device gives it back, and
// the call goes on.
TEST_F(MediaRelayTest, APacketTheCryptoDeviceKeepsIsDroppedAsLostAndFreedWhenItReturns) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  relay_ =
      std::make_unique<MediaRelay>(*table_, MediaCrypto{.device = device_->id(),
                                                        .queue_pair = 0,
                                                        .op_pool = device_->op_pool(),
                                                        .session_pool = device_->session_pool(),
                                                        .extra_sessions = budget_.get(),
                                                        .queue = &queue,
                                                        .collect_bound_us = 0});
  const RtpToSrtp s = AddRtpToSrtp(31);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true);
  ASSERT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 160, rng_)).verdict,
            DropReason::kMediaLegNotReady);  // A's link address learnt

  queue.HoldNext(1);
  const Result lost =
      Send(s.b_remote, s.b_local, phone_out.Run(Rtp(0xb, 1, 160, rng_), false, true));
  EXPECT_EQ(lost.verdict, DropReason::kMediaCryptoLost);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 1u) << "the device's packet, not freed";
  EXPECT_FALSE(table_->Sessions()[0]->legs[1].remote_known) << "a lost packet latches nothing";

  queue.Release();
  const Bytes b2 = Rtp(0xb, 2, 320, rng_);
  const Result to_a = Send(s.b_remote, s.b_local, phone_out.Run(b2, false, true));
  ASSERT_EQ(to_a.verdict, kNotDropped) << DropReasonName(to_a.verdict);
  EXPECT_EQ(to_a.payload, b2);
  EXPECT_EQ(rte_mempool_in_use_count(pool_), 0u) << "freed when it came back";
}

// A crypto device of the QAT kind answers in a later poll, and the relay does not wait
// for it: the packet is held (the caller neither sends nor frees it) with the
// session's pointers (busy(): the worker reports no quiescent state meanwhile), and
// comes out of the Poll() after the device answers, decided as if it had answered at
// once: unprotected from the SRTP leg and latched then, or protected for it.
TEST_F(MediaRelayTest, APacketTheCryptoDeviceAnswersLaterComesOutOfALaterPoll) {
  testing::HoldingCryptoQueue queue(device_->id(), 0);
  relay_ = std::make_unique<MediaRelay>(
      *table_, MediaCrypto{.device = device_->id(),
                           .queue_pair = 0,
                           .op_pool = device_->op_pool(),
                           .session_pool = device_->session_pool(),
                           .extra_sessions = budget_.get(),
                           .queue = &queue,
                           .collect_bound_us = testing::kEventDeadlineS * 1'000'000u});
  const RtpToSrtp s = AddRtpToSrtp(41);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true), phone_in(s.our_key, false);
  ASSERT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 160, rng_)).verdict,
            DropReason::kMediaLegNotReady);  // A's link address learnt

  // B -> A: unprotected from B in a later poll.
  queue.HoldNext(1);
  const Bytes b1 = Rtp(0xb, 1, 160, rng_);
  const Offered from_b = Offer(s.b_remote, s.b_local, phone_out.Run(b1, false, true));
  ASSERT_TRUE(from_b.held);
  EXPECT_TRUE(relay_->busy());
  EXPECT_FALSE(table_->Sessions()[0]->legs[1].remote_known) << "latched before it authenticated";
  relay_->Poll(macs_);
  EXPECT_TRUE(relay_->late().empty()) << "out of a poll while the device still has it";
  queue.Release();
  relay_->Poll(macs_);
  ASSERT_EQ(relay_->late().size(), 1u);
  const MediaRelay::Late to_a = relay_->late()[0];
  relay_->TakeLate();
  EXPECT_FALSE(relay_->busy());
  EXPECT_EQ(to_a.frame, from_b.frame);
  EXPECT_EQ(to_a.verdict, kNotDropped) << DropReasonName(to_a.verdict);
  EXPECT_EQ(to_a.tx_slot, kSlotA);
  EXPECT_TRUE(table_->Sessions()[0]->legs[1].remote_known) << "B latched once it authenticated";
  const Result a_got = Outcome(to_a.frame, to_a.verdict, to_a.tx_slot);
  EXPECT_EQ(a_got.payload, b1);
  EXPECT_EQ(a_got.destination.port, s.a_remote.port);
  EXPECT_TRUE(a_got.checksums_ok);

  // A -> B: protected for B in a later poll.
  queue.HoldNext(1);
  const Bytes a2 = Rtp(0xa, 2, 320, rng_);
  const Offered from_a = Offer(s.a_remote, s.a_local, a2);
  ASSERT_TRUE(from_a.held);
  queue.Release();
  relay_->Poll(macs_);
  ASSERT_EQ(relay_->late().size(), 1u);
  const MediaRelay::Late to_b = relay_->late()[0];
  relay_->TakeLate();
  EXPECT_EQ(to_b.verdict, kNotDropped) << DropReasonName(to_b.verdict);
  EXPECT_EQ(to_b.tx_slot, kSlotB);
  const Result b_got = Outcome(to_b.frame, to_b.verdict, to_b.tx_slot);
  EXPECT_EQ(b_got.destination.port, s.b_remote.port);
  EXPECT_EQ(phone_in.Run(b_got.payload, false, false), a2);
  const MediaLegSnapshot b = table_->Snapshot().at(0).legs[1];
  EXPECT_EQ(b.counters.packets_in, 1u);
  EXPECT_EQ(b.counters.packets_out, 1u);
}

}  // namespace
}  // namespace sbc::dataplane
