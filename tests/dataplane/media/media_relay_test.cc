// The media relay stage on real frames and the real crypto device: RTP <-> SRTP and
// SRTP <-> SRTP between two legs, checked against libsrtp2; latching only on packets
// that authenticate (spoofed and replayed packets move nothing); strict sources for
// given remotes; RTCP on port + 1; readdressing with valid checksums; sessions added
// and removed; updates applied by the owner between bursts; sequence gaps and jitter.
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <thread>
#include <vector>

#include "media_relay_fixture.h"
#include "sbc/dataplane/core/table_slot.h"
#include "support/wait.h"

namespace sbc::dataplane {
namespace {

using testing::Bytes;
using testing::Ip;
using testing::Libsrtp;

TEST_F(MediaRelayTest, PlainRtpIsRelayedToAnSrtpLegThatLatchedOnAnAuthenticPacket) {
  const RtpToSrtp s = AddRtpToSrtp(7);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true), phone_in(s.our_key, false);

  // B has not been heard: nowhere to send A's media yet.
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 160, rng_)).verdict,
            DropReason::kMediaLegNotReady);

  // B speaks: authenticated, so its address is latched; the plain RTP goes to A.
  const Bytes b1 = Rtp(0xb, 100, 8000, rng_);
  const Result to_a = Send(s.b_remote, s.b_local, phone_out.Run(b1, false, true));
  ASSERT_EQ(to_a.verdict, kNotDropped);
  EXPECT_EQ(to_a.tx_slot, kSlotA);
  EXPECT_EQ(to_a.payload, b1) << "decrypted bit for bit";
  EXPECT_EQ(to_a.source.port, s.a_local.port);
  EXPECT_EQ(to_a.destination.port, s.a_remote.port);
  EXPECT_EQ(0, std::memcmp(to_a.source.address.data(), s.a_local.address.data(), 4));
  EXPECT_EQ(0, std::memcmp(to_a.destination.address.data(), s.a_remote.address.data(), 4));
  EXPECT_EQ(to_a.eth_src, (std::array<uint8_t, 6>{0x02, 0xaa, 0, 0, 0, 1}))
      << "leaves by A's port, with its address";
  EXPECT_TRUE(to_a.checksums_ok);

  // A's media now reaches B as SRTP that B's own stack decrypts.
  for (uint16_t seq = 2; seq < 50; ++seq) {
    const Bytes a = Rtp(0xa, seq, 160u * seq, rng_);
    const Result to_b = Send(s.a_remote, s.a_local, a);
    ASSERT_EQ(to_b.verdict, kNotDropped) << seq;
    EXPECT_EQ(to_b.tx_slot, kSlotB);
    EXPECT_EQ(phone_in.Run(to_b.payload, false, false), a) << seq;
    EXPECT_EQ(to_b.destination.port, s.b_remote.port);
    EXPECT_EQ(to_b.source.port, s.b_local.port);
    EXPECT_EQ(to_b.eth_dst, (std::array<uint8_t, 6>{0x02, 0, 0, 0, 0, 0x0a}))
        << "B's link address, learnt";
    EXPECT_TRUE(to_b.checksums_ok);
  }
  // RTCP on port + 1, both ways.
  const Result rtcp_to_b = Send(V4("203.0.113.5", 4001), V4("192.0.2.250", 20001), Rtcp(0xa));
  ASSERT_EQ(rtcp_to_b.verdict, kNotDropped);
  EXPECT_EQ(rtcp_to_b.destination.port, 5001);
  EXPECT_EQ(rtcp_to_b.source.port, 20003);
  EXPECT_EQ(phone_in.Run(rtcp_to_b.payload, true, false), Rtcp(0xa));
  const Result rtcp_to_a = Send(V4("198.51.100.7", 5001), V4("192.0.2.250", 20003),
                                phone_out.Run(Rtcp(0xb), true, true));
  ASSERT_EQ(rtcp_to_a.verdict, kNotDropped);
  EXPECT_EQ(rtcp_to_a.payload, Rtcp(0xb));
  EXPECT_EQ(rtcp_to_a.destination.port, 4001);

  const MediaSession* session = table_->Sessions()[0];
  EXPECT_EQ(session->legs[1].counters.latches, 1u);
  EXPECT_EQ(session->legs[0].counters.packets_in, 49u + 1);
  EXPECT_EQ(session->legs[1].counters.packets_out, 48u + 1);
}

TEST_F(MediaRelayTest, SpoofedOrReplayedPacketsNeverMoveALatchedStream) {
  const RtpToSrtp s = AddRtpToSrtp(8);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true), stranger(RandomMaster(rng_), true);
  const MediaEndpoint attacker = V4("198.51.100.66", 6666);

  // Before anything authenticated, a forged packet latches nothing.
  EXPECT_EQ(Send(attacker, s.b_local, stranger.Run(Rtp(0xb, 1, 0, rng_), false, true)).verdict,
            DropReason::kMediaAuthFailed);
  const MediaSession* session = table_->Sessions()[0];
  EXPECT_FALSE(session->legs[1].remote_known);

  // A speaks (nowhere to go yet, but its link address is learnt), then B for real.
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 0, rng_)).verdict,
            DropReason::kMediaLegNotReady);
  const Bytes genuine = phone_out.Run(Rtp(0xb, 2, 160, rng_), false, true);
  ASSERT_EQ(Send(s.b_remote, s.b_local, genuine).verdict, kNotDropped);
  // The attacker replays the genuine packet from elsewhere, or forges one: neither moves B.
  EXPECT_EQ(Send(attacker, s.b_local, genuine).verdict, DropReason::kMediaReplayed);
  Bytes flipped = phone_out.Run(Rtp(0xb, 3, 320, rng_), false, true);
  flipped[14] ^= 1;
  EXPECT_EQ(Send(attacker, s.b_local, flipped).verdict, DropReason::kMediaAuthFailed);
  EXPECT_EQ(session->legs[1].remote, s.b_remote);
  EXPECT_EQ(session->legs[1].counters.latches, 1u);
  // Media from A still goes to the real B.
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 2, 160, rng_)).destination.port, s.b_remote.port);
  // A's remote was given: nothing from elsewhere is taken, plain RTP having no proof.
  EXPECT_EQ(Send(attacker, s.a_local, Rtp(0xa, 3, 320, rng_)).verdict,
            DropReason::kMediaWrongSource);
  EXPECT_EQ(session->legs[0].counters.wrong_source, 1u);
}

TEST_F(MediaRelayTest, SrtpIsReEncryptedBetweenLegsWithTheirOwnKeys) {
  for (SrtpSuite suite : {SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAeadAes128Gcm}) {
    SCOPED_TRACE(SrtpSuiteName(suite));
    SrtpMasterKey keys[4];
    for (auto& k : keys) {
      k = RandomMaster(rng_);
      k.suite = suite;
    }
    const uint16_t base = suite == SrtpSuite::kAeadAes128Gcm ? 21100 : 21000;
    const MediaEndpoint a_remote = V4("203.0.113.9", 7000), a_local = V4("192.0.2.250", base);
    const MediaEndpoint b_remote = V4("198.51.100.9", 8000),
                        b_local = V4("192.0.2.250", uint16_t(base + 2));
    MediaSessionSpec spec{.id = suite == SrtpSuite::kAeadAes128Gcm ? 11u : 10u};
    spec.legs[0] = {.local = a_local,
                    .rtcp_mux = true,
                    .remote = a_remote,
                    .port_slot = kSlotA,
                    .srtp_from_leg = Keys(keys[0]),
                    .srtp_to_leg = Keys(keys[1])};
    spec.legs[0].rtcp_mux = true;
    spec.legs[1] = {.local = b_local,
                    .remote = b_remote,
                    .port_slot = kSlotB,
                    .srtp_from_leg = Keys(keys[2]),
                    .srtp_to_leg = Keys(keys[3])};
    spec.legs[1].rtcp_mux = true;
    ASSERT_TRUE(table_->Add(spec).has_value());
    Libsrtp a_out(keys[0], true), a_in(keys[1], false), b_out(keys[2], true), b_in(keys[3], false);
    // B first (so A's link is unknown only until A speaks).
    ASSERT_EQ(Send(b_remote, b_local, b_out.Run(Rtp(0xb, 9, 0, rng_), false, true)).verdict,
              DropReason::kMediaLegNotReady);
    for (uint16_t seq = 65500; seq != 40; ++seq) {  // across the wrap
      const Bytes a = Rtp(0xa, seq, 160u * seq, rng_);
      const Result to_b = Send(a_remote, a_local, a_out.Run(a, false, true));
      ASSERT_EQ(to_b.verdict, kNotDropped) << seq;
      ASSERT_EQ(b_in.Run(to_b.payload, false, false), a) << seq;
    }
    const Bytes b = Rtp(0xb, 10, 160, rng_);
    const Result to_a = Send(b_remote, b_local, b_out.Run(b, false, true));
    ASSERT_EQ(to_a.verdict, kNotDropped);
    EXPECT_EQ(a_in.Run(to_a.payload, false, false), b);
    // Muxed RTCP on the RTP port.
    const Result rtcp = Send(a_remote, a_local, a_out.Run(Rtcp(0xa), true, true));
    ASSERT_EQ(rtcp.verdict, kNotDropped);
    EXPECT_EQ(rtcp.destination.port, b_remote.port);
    EXPECT_EQ(b_in.Run(rtcp.payload, true, false), Rtcp(0xa));
  }
}

// A re-offer (re-INVITE) updates a live session. Keys repeated as they were keep their
// streams going: the replay window stays shut and our sender never reuses an index
// (a restarted index under the same key would reuse keystream). New keys start new
// streams; a remote given, or made latchable, moves what is accepted.
TEST_F(MediaRelayTest, AnUpdateKeepsStreamsWhoseKeysAreRepeatedAndRenewsThoseWithNewKeys) {
  const RtpToSrtp s = AddRtpToSrtp(12);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true), phone_in(s.our_key, false);
  std::vector<Bytes> heard;  // what B sent, as sent
  for (uint16_t seq = 1; seq <= 5; ++seq) {
    heard.push_back(phone_out.Run(Rtp(0xb, seq, 160u * seq, rng_), false, true));
    ASSERT_NE(Send(s.b_remote, s.b_local, heard.back()).verdict, DropReason::kMediaAuthFailed)
        << seq;
  }
  for (uint16_t seq = 1; seq <= 5; ++seq) {
    const Result to_b = Send(s.a_remote, s.a_local, Rtp(0xa, seq, 160u * seq, rng_));
    ASSERT_EQ(to_b.verdict, kNotDropped) << seq;
    ASSERT_FALSE(phone_in.Run(to_b.payload, false, false).empty()) << seq;
  }

  // The same offer again (same remote for A, B latched, the same SDES keys).
  MediaSessionUpdate same{.id = 12};
  same.legs[0] = {.remote = s.a_remote};
  same.legs[1] = {.srtp = true, .srtp_from_leg = Keys(s.phone_key), .srtp_to_leg = Keys(s.our_key)};
  ASSERT_TRUE(table_->Update(same).has_value());
  const MediaSession* session = table_->Sessions()[0];
  EXPECT_EQ(session->legs[1].remote, s.b_remote) << "a latched remote is kept";
  EXPECT_EQ(Send(s.b_remote, s.b_local, heard[2]).verdict, DropReason::kMediaReplayed)
      << "the window stays shut";
  EXPECT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 5, 800, rng_)).verdict, DropReason::kMediaReplayed)
      << "A repeats a sequence number: our sender's index 5 is spent under this key, update or not";
  for (uint16_t seq = 6; seq <= 8; ++seq) {
    const Result to_b = Send(s.a_remote, s.a_local, Rtp(0xa, seq, 160u * seq, rng_));
    ASSERT_EQ(to_b.verdict, kNotDropped);
    EXPECT_FALSE(phone_in.Run(to_b.payload, false, false).empty()) << seq;
  }
  const Bytes b6 = phone_out.Run(Rtp(0xb, 6, 960, rng_), false, true);
  EXPECT_EQ(Send(s.b_remote, s.b_local, b6).verdict, kNotDropped);

  // B re-keys, and its address is now given (another one).
  const SrtpMasterKey phone_key2 = RandomMaster(rng_);
  const MediaEndpoint b_moved = V4("198.51.100.8", 5002);
  MediaSessionUpdate rekey{.id = 12};
  rekey.legs[0] = {.remote = s.a_remote};
  rekey.legs[1] = {.remote = b_moved, .srtp = true, .srtp_from_leg = Keys(phone_key2)};
  ASSERT_TRUE(table_->Update(rekey).has_value());
  Libsrtp phone_out2(phone_key2, true);
  EXPECT_EQ(
      Send(s.b_remote, s.b_local, phone_out.Run(Rtp(0xb, 7, 1120, rng_), false, true)).verdict,
      DropReason::kMediaWrongSource)
      << "from the old address";
  EXPECT_EQ(Send(b_moved, s.b_local, phone_out.Run(Rtp(0xb, 8, 1280, rng_), false, true)).verdict,
            DropReason::kMediaAuthFailed)
      << "under the old key";
  const Bytes fresh = Rtp(0xb, 1, 160, rng_);
  const Result to_a = Send(b_moved, s.b_local, phone_out2.Run(fresh, false, true));
  ASSERT_EQ(to_a.verdict, kNotDropped) << "a new stream: index 1 is new under the new key";
  EXPECT_EQ(to_a.payload, fresh);
  const Result to_b = Send(s.a_remote, s.a_local, Rtp(0xa, 9, 1440, rng_));
  ASSERT_EQ(to_b.verdict, kNotDropped);
  EXPECT_EQ(to_b.destination.port, b_moved.port);
  EXPECT_FALSE(phone_in.Run(to_b.payload, false, false).empty())
      << "our key was not repeated: it went on";

  // B drops to plain RTP, its remote to be learnt again.
  MediaSessionUpdate plain{.id = 12};
  plain.legs[0] = {.remote = s.a_remote};
  plain.legs[1] = {};
  ASSERT_TRUE(table_->Update(plain).has_value());
  EXPECT_FALSE(session->legs[1].srtp);
  EXPECT_FALSE(session->legs[1].remote_known) << "given before, to be latched now";
  const Bytes clear = Rtp(0xb, 2, 320, rng_);
  const Result plain_to_a = Send(s.b_remote, s.b_local, clear);
  ASSERT_EQ(plain_to_a.verdict, kNotDropped);
  EXPECT_EQ(plain_to_a.payload, clear);

  // Refused, and nothing changed: unknown id, SRTP one way only on a plain leg, a remote
  // of the other family.
  MediaSessionUpdate unknown = plain;
  unknown.id = 99;
  EXPECT_THAT(table_->Update(unknown).error(), ::testing::HasSubstr("no media session 99"));
  MediaSessionUpdate one_way = plain;
  one_way.legs[1] = {.srtp = true, .srtp_from_leg = Keys(s.phone_key)};
  EXPECT_THAT(table_->Update(one_way).error(), ::testing::HasSubstr("needs keys both ways"));
  MediaSessionUpdate v6 = plain;
  v6.legs[0].remote =
      MediaEndpoint{.family = Family::kIpv6, .address = Ip("2001:db8::9"), .port = 4000};
  EXPECT_THAT(table_->Update(v6).error(), ::testing::HasSubstr("address families differ"));
  EXPECT_FALSE(session->legs[1].srtp);
  EXPECT_EQ(session->legs[0].remote, s.a_remote);
}

// DESIGN: a session change drops no packet. The update is under way (the control lcore
// waits on this worker) when a packet of the session arrives: the worker applies the
// change at the start of its poll and relays the packet under it. (Before, the session
// was off the workers' path for a grace period and the packet was dropped as
// media_no_session.)
TEST_F(MediaRelayTest, APacketThatArrivesWhileTheSessionIsUpdatedIsRelayedUnderTheChange) {
  auto readers = CreateReaders(1);
  ASSERT_TRUE(readers.has_value()) << readers.error();
  rte_rcu_qsbr* qsbr = *readers;
  relay_.reset();
  table_.reset();
  auto table = MediaTable::Create(64, qsbr, factory_.get());
  ASSERT_TRUE(table.has_value()) << table.error();
  table_ = std::move(*table);
  relay_ = std::make_unique<MediaRelay>(
      *table_,
      MediaCrypto{device_->id(), 0, device_->op_pool(), device_->session_pool(), budget_.get()});
  const RtpToSrtp s = AddRtpToSrtp(21);
  ASSERT_FALSE(HasFailure());
  Libsrtp phone_out(s.phone_key, true);
  ASSERT_EQ(Send(s.a_remote, s.a_local, Rtp(0xa, 1, 160, rng_)).verdict,
            DropReason::kMediaLegNotReady)
      << "A's link address learnt; B not heard yet";
  ASSERT_EQ(Send(s.b_remote, s.b_local, phone_out.Run(Rtp(0xb, 1, 160, rng_), false, true)).verdict,
            kNotDropped)
      << "B latched";

  // The re-offer gives B a key of ours it has not had: what A sends next is protected
  // with it, so B can tell which side of the change a packet was relayed on.
  const SrtpMasterKey our_key2 = RandomMaster(rng_);
  MediaSessionUpdate rekey{.id = 21};
  rekey.legs[0] = {.remote = s.a_remote};
  rekey.legs[1] = {.srtp = true, .srtp_from_leg = Keys(s.phone_key), .srtp_to_leg = Keys(our_key2)};

  // This thread is worker 0; the control lcore's is another.
  ASSERT_EQ(rte_rcu_qsbr_thread_register(qsbr, 0), 0);
  rte_rcu_qsbr_thread_online(qsbr, 0);
  const uint64_t token = __atomic_load_n(&qsbr->token, __ATOMIC_ACQUIRE);
  std::atomic<bool> done{false};
  std::expected<void, std::string> updated;
  std::thread control([&] {
    updated = table_->Update(rekey);
    done.store(true, std::memory_order_release);
  });
  // A grace period has begun: the control lcore has made its change to the session (or
  // posted it) and waits for this worker.
  const bool under_way =
      testing::WaitUntil([&] { return __atomic_load_n(&qsbr->token, __ATOMIC_ACQUIRE) != token; });
  relay_->ApplySessionChanges();  // one poll: the changes, then the burst
  const Bytes a2 = Rtp(0xa, 2, 320, rng_);
  const Result mid = Send(s.a_remote, s.a_local, a2);
  rte_rcu_qsbr_quiescent(qsbr, 0);
  while (!done.load(std::memory_order_acquire)) {  // the polls that follow
    relay_->ApplySessionChanges();
    rte_rcu_qsbr_quiescent(qsbr, 0);
  }
  control.join();
  rte_rcu_qsbr_thread_offline(qsbr, 0);
  rte_rcu_qsbr_thread_unregister(qsbr, 0);
  ASSERT_TRUE(under_way) << "the update never waited on the worker";
  ASSERT_TRUE(updated.has_value()) << updated.error();

  EXPECT_EQ(mid.verdict, kNotDropped) << DropReasonName(mid.verdict);
  Libsrtp phone_in2(our_key2, false);
  EXPECT_EQ(phone_in2.Run(mid.payload, false, false), a2) << "relayed under the change";
  const Bytes a3 = Rtp(0xa, 3, 480, rng_);
  const Result after = Send(s.a_remote, s.a_local, a3);
  ASSERT_EQ(after.verdict, kNotDropped);
  EXPECT_EQ(phone_in2.Run(after.payload, false, false), a3);
  relay_.reset();
  table_.reset();  // before the QSBR variable it waits on
  FreeReaders(qsbr);
}

TEST_F(MediaRelayTest, SessionsComeAndGoAndTheirPortsAreTheirsAlone) {
  MediaSessionSpec spec{.id = 1};
  spec.legs[0] = {
      .local = V4("192.0.2.250", 22000), .remote = V4("203.0.113.1", 1000), .port_slot = kSlotA};
  spec.legs[1] = {
      .local = V4("192.0.2.250", 22002), .remote = V4("198.51.100.1", 2000), .port_slot = kSlotB};
  ASSERT_TRUE(table_->Add(spec).has_value());
  MediaSessionSpec clash = spec;
  clash.id = 2;
  clash.legs[1].local.port = 22010;
  const auto refused = table_->Add(clash);
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.error(), ::testing::HasSubstr("192.0.2.250:22000 is in use"));
  EXPECT_FALSE(table_->Add(spec).has_value()) << "duplicate id";
  MediaSessionSpec one_way = spec;
  one_way.id = 3;
  one_way.legs[0].local.port = 22020;
  one_way.legs[1].local.port = 22022;
  one_way.legs[0].srtp_from_leg = Keys(RandomMaster(rng_));
  EXPECT_THAT(table_->Add(one_way).error(), ::testing::HasSubstr("needs keys both ways"));

  ASSERT_EQ(Send(V4("198.51.100.1", 2000), V4("192.0.2.250", 22002), Rtp(1, 1, 0, rng_)).verdict,
            DropReason::kMediaLegNotReady);
  ASSERT_EQ(Send(V4("203.0.113.1", 1000), V4("192.0.2.250", 22000), Rtp(2, 1, 0, rng_)).verdict,
            kNotDropped);
  EXPECT_TRUE(table_->Remove(1));
  EXPECT_EQ(Send(V4("203.0.113.1", 1000), V4("192.0.2.250", 22000), Rtp(2, 2, 160, rng_)).verdict,
            DropReason::kMediaNoSession);
  EXPECT_FALSE(table_->Remove(1));
  EXPECT_TRUE(table_->Add(clash).has_value()) << "the freed port is free again";
}

// The table indexes relay ports by number; one number may serve several relay
// addresses (and families), each its own session, and unlinking one leaves the others.
TEST_F(MediaRelayTest, OnePortNumberOnSeveralRelayAddressesReachesEachItsOwnSession) {
  const std::array<MediaEndpoint, 3> locals = {
      V4("192.0.2.250", 24000), V4("192.0.2.251", 24000),
      MediaEndpoint{.family = Family::kIpv6, .address = Ip("2001:db8::250"), .port = 24000}};
  for (uint64_t id = 1; id <= 3; ++id) {
    MediaSessionSpec spec{.id = id};
    MediaEndpoint other = locals[id - 1];
    other.port = 24002;
    spec.legs[0] = {.local = locals[id - 1], .remote = std::nullopt, .port_slot = kSlotA};
    spec.legs[1] = {.local = other, .remote = std::nullopt, .port_slot = kSlotB};
    ASSERT_TRUE(table_->Add(spec).has_value()) << id;
  }
  for (uint64_t id = 1; id <= 3; ++id) {
    const MediaPort* port = table_->Find(locals[id - 1]);
    ASSERT_NE(port, nullptr) << id;
    EXPECT_EQ(port->session->id, id);
    EXPECT_EQ(port->leg, 0);
    EXPECT_FALSE(port->rtcp);
    MediaEndpoint rtcp = locals[id - 1];
    rtcp.port = 24001;
    ASSERT_NE(table_->Find(rtcp), nullptr) << "RTCP on port + 1";
    EXPECT_TRUE(table_->Find(rtcp)->rtcp);
  }
  EXPECT_EQ(table_->Find(V4("192.0.2.252", 24000)), nullptr)
      << "a port number in use, on another address";
  MediaEndpoint v4_spare_bytes = locals[0];
  v4_spare_bytes.address[10] = 0xff;
  EXPECT_EQ(table_->Find(v4_spare_bytes), table_->Find(locals[0]))
      << "IPv4 compares its four bytes only";

  ASSERT_TRUE(table_->Remove(2));  // the middle of the list
  EXPECT_EQ(table_->Find(locals[1]), nullptr);
  ASSERT_NE(table_->Find(locals[0]), nullptr);
  EXPECT_EQ(table_->Find(locals[0])->session->id, 1u);
  ASSERT_NE(table_->Find(locals[2]), nullptr);
  EXPECT_EQ(table_->Find(locals[2])->session->id, 3u);
  const MediaEndpoint* wanted[] = {&locals[0], &locals[1], &locals[2]};
  const MediaPort* found[3] = {};
  table_->FindBulk(wanted, 3, found);
  EXPECT_EQ(found[0], table_->Find(locals[0]));
  EXPECT_EQ(found[1], nullptr);
  EXPECT_EQ(found[2], table_->Find(locals[2]));
}

TEST_F(MediaRelayTest, ASessionIsIdleOnlyWhenNoneOfItsPortsHasSeenAPacket) {
  MediaSessionSpec spec{.id = 5};
  spec.legs[0] = {
      .local = V4("192.0.2.250", 25000), .remote = V4("203.0.113.3", 1000), .port_slot = kSlotA};
  spec.legs[1] = {
      .local = V4("192.0.2.250", 25002), .remote = V4("198.51.100.3", 2000), .port_slot = kSlotB};
  ASSERT_TRUE(table_->Add(spec).has_value());
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t created = table_->Sessions()[0]->LastActiveTsc();
  // Leg B's RTCP port hears something a while after creation.
  const uint64_t later = created + hz;
  table_->Find(V4("192.0.2.250", 25003))->last_active_tsc.store(later);
  EXPECT_EQ(table_->Sessions()[0]->LastActiveTsc(), later);
  EXPECT_TRUE(table_->RemoveIdle(later + hz / 2, hz).empty()) << "heard from half a second ago";
  EXPECT_TRUE(table_->RemoveIdle(later - 1, hz).empty())
      << "stamped by a worker just after the control lcore read its clock: busy, not idle";
  EXPECT_EQ(table_->RemoveIdle(later + 2 * hz, hz), std::vector<uint64_t>{5});
  EXPECT_EQ(table_->Find(V4("192.0.2.250", 25000)), nullptr);
}

TEST_F(MediaRelayTest, ReceptionCountsGapsAndJitter) {
  MediaSessionSpec spec{.id = 4};
  spec.legs[0] = {
      .local = V4("192.0.2.250", 23000), .remote = V4("203.0.113.2", 1000), .port_slot = kSlotA};
  spec.legs[1] = {
      .local = V4("192.0.2.250", 23002), .remote = V4("198.51.100.2", 2000), .port_slot = kSlotB};
  ASSERT_TRUE(table_->Add(spec).has_value());
  for (uint16_t seq : {1, 2, 3, 6, 7, 5, 8})
    (void)Send(V4("203.0.113.2", 1000), V4("192.0.2.250", 23000), Rtp(3, seq, 160u * seq, rng_));
  const RtpReceptionStats& stats = table_->Sessions()[0]->legs[0].rtp_stats;
  EXPECT_EQ(stats.packets(), 7u);
  EXPECT_EQ(stats.gaps(), 2u) << "4 and 5 skipped at 6; 5 came late but the gap stays counted";
}

// The control thread lists sessions while their owner relays (sbcctl media list during
// calls). Every value it reads was stored whole by the one writer: counters only grow,
// the remote is none or the one latched, never a mix. ThreadSanitizer (the tsan
// preset) reports any field read here that the worker writes plainly.
TEST_F(MediaRelayTest, SnapshotsTakenWhileTheOwnerRelaysAreWholeAndOnlyGrow) {
  const RtpToSrtp s = AddRtpToSrtp(8);
  ASSERT_FALSE(HasFailure());
  constexpr uint16_t kRounds = 400;
  // Built ahead: the writer thread only relays.
  Libsrtp phone_out(s.phone_key, true), stranger(RandomMaster(rng_), true);
  std::vector<Bytes> from_a, from_b, forged;
  for (uint16_t i = 0; i < kRounds; ++i) {
    const uint16_t seq = static_cast<uint16_t>(2 * i + 1);  // every other: one gap each
    from_a.push_back(Rtp(0xa, seq, 160u * seq, rng_));
    from_b.push_back(phone_out.Run(Rtp(0xb, seq, 160u * seq, rng_), false, true));
    forged.push_back(stranger.Run(Rtp(0xc, seq, 160u * seq, rng_), false, true));
  }
  std::atomic<bool> done{false};
  std::thread owner([&] {
    for (uint16_t i = 0; i < kRounds; ++i) {
      (void)Send(s.b_remote, s.b_local, from_b[i]);  // B's first latches it
      (void)Send(s.a_remote, s.a_local, from_a[i]);
      (void)Send(s.b_remote, s.b_local, forged[i]);
    }
    done.store(true, std::memory_order_release);
  });
  MediaSessionSnapshot last{};
  size_t snapshots = 0;
  for (bool finished = false; !finished;) {
    finished = done.load(std::memory_order_acquire);  // then one snapshot more
    const std::vector<MediaSessionSnapshot> now = table_->Snapshot();
    ASSERT_EQ(now.size(), 1u);
    ++snapshots;
    for (int l = 0; l < 2; ++l) {
      const MediaLegSnapshot &was = last.legs[l], &is = now[0].legs[l];
      EXPECT_GE(is.counters.packets_in, was.counters.packets_in);
      EXPECT_GE(is.counters.bytes_in, was.counters.bytes_in);
      EXPECT_GE(is.counters.packets_out, was.counters.packets_out);
      EXPECT_GE(is.auth_failures, was.auth_failures);
      EXPECT_GE(is.sequence_gaps, was.sequence_gaps);
    }
    const std::optional<MediaEndpoint>& b_remote = now[0].legs[1].remote;
    if (b_remote) {
      EXPECT_EQ(*b_remote, s.b_remote) << "the latched remote, whole";
      EXPECT_TRUE(now[0].legs[1].latched);
    } else {
      EXPECT_FALSE(last.legs[1].remote.has_value()) << "a latched remote stays";
    }
    EXPECT_EQ(now[0].legs[0].remote, s.a_remote) << "given";
    last = now[0];
  }
  owner.join();
  EXPECT_GE(snapshots, 1u);
  EXPECT_EQ(last.legs[0].counters.packets_in, kRounds);
  EXPECT_EQ(last.legs[0].sequence_gaps, kRounds - 1u);
  EXPECT_EQ(last.legs[1].counters.packets_in, kRounds);
  EXPECT_EQ(last.legs[1].counters.latches, 1u);
  EXPECT_EQ(last.legs[1].auth_failures, kRounds) << "every forged packet";
  EXPECT_EQ(last.legs[1].counters.packets_out, kRounds) << "B spoke first: latched, linked";
  EXPECT_EQ(last.legs[0].counters.packets_out, kRounds - 1u)
      << "B's first packet came before A's link address was known";
}

TEST(RtpReceptionStatsTest, JitterFollowsRfc3550) {
  RtpReceptionStats s;
  // Packets 20 ms apart (160 units at 8 kHz) arriving with alternating 0 and 40 units of delay.
  for (uint32_t i = 0; i < 200; ++i)
    s.Update(uint16_t(i), 160 * i, 160 * i + (i % 2 ? 40 : 0), 172);
  // |D| is 40 each time: J converges to 40.
  EXPECT_NEAR(double(s.jitter()), 40.0, 1.0);
  EXPECT_EQ(s.gaps(), 0u);
}

}  // namespace
}  // namespace sbc::dataplane
