#include "sbc/dataplane/dtls/ice_lite.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stun_check_builder.h"

namespace sbc::dataplane {
namespace {

using testing::BuildStunCheck;
using testing::StunCheckSpec;

MediaEndpoint V4(uint8_t last, uint16_t port) {
  MediaEndpoint e;
  e.family = Family::kIpv4;
  e.address[0] = 198;
  e.address[1] = 51;
  e.address[2] = 100;
  e.address[3] = last;
  e.port = port;
  return e;
}

class IceLiteTest : public ::testing::Test {
 protected:
  IceLiteTest() : agent_({.ufrag = "ourufrag", .pwd = "our-password-of-24-chars"}, "peer") {}

  IceLiteAgent::Answer Send(const std::vector<uint8_t>& datagram, const MediaEndpoint& from,
                            uint64_t now_ms) {
    out_.fill(0);
    return agent_.OnStun(datagram, from, now_ms, out_);
  }
  static std::vector<uint8_t> CheckMessage(bool use_candidate = true) {
    StunCheckSpec spec;
    spec.use_candidate = use_candidate;
    return BuildStunCheck(spec);
  }
  // The response in out_, framed, with integrity checked against our password.
  StunFrame Response(size_t size) {
    const auto frame = FrameStun(std::span<const uint8_t>(out_.data(), size));
    EXPECT_TRUE(frame.has_value());
    EXPECT_TRUE(FingerprintMatches(*frame));
    EXPECT_TRUE(IntegrityMatches(*frame, "our-password-of-24-chars"));
    return *frame;
  }
  uint64_t Refused(StunRefusal r) const {
    return agent_.counters().refused[static_cast<size_t>(r)];
  }

  IceLiteAgent agent_;
  std::array<uint8_t, kMaxStunResponse> out_{};
};

TEST(IceCredentialsTest, FreshCredentialsAreLongEnoughRandomIceChars) {
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i) {
    const auto credentials = GenerateIceCredentials();
    ASSERT_TRUE(credentials.has_value()) << credentials.error();
    EXPECT_EQ(credentials->ufrag.size(), 8u);  // RFC 8445: at least 4 (24 bits)
    EXPECT_EQ(credentials->pwd.size(), 24u);   // at least 22 (128 bits)
    for (const std::string* s : {&credentials->ufrag, &credentials->pwd})
      EXPECT_TRUE(std::all_of(s->begin(), s->end(), [](char c) {
        return std::isalnum(c) || c == '+' || c == '/';
      })) << *s;
    seen.insert(credentials->ufrag);
    seen.insert(credentials->pwd);
  }
  EXPECT_EQ(seen.size(), 64u) << "no two alike";
}

TEST_F(IceLiteTest, ACheckIsAnsweredWithItsSourceAndANominationSelectsIt) {
  const MediaEndpoint browser = V4(7, 50123);
  const IceLiteAgent::Answer probe = Send(CheckMessage(/*use_candidate=*/false), browser, 1000);
  EXPECT_FALSE(probe.refused.has_value());
  ASSERT_GT(probe.response_size, 0u);
  EXPECT_EQ(XorMappedAddress(Response(probe.response_size)), browser);
  EXPECT_FALSE(probe.selected_changed);
  EXPECT_FALSE(agent_.selected().has_value());
  EXPECT_TRUE(agent_.PassedCheck(browser));
  EXPECT_FALSE(agent_.ConsentFresh(1000)) << "nothing selected yet: nothing to send to";

  const IceLiteAgent::Answer nominated = Send(CheckMessage(), browser, 1020);
  EXPECT_GT(nominated.response_size, 0u);
  EXPECT_TRUE(nominated.selected_changed);
  EXPECT_EQ(agent_.selected(), browser);
  EXPECT_TRUE(agent_.ConsentFresh(1020));

  EXPECT_FALSE(Send(CheckMessage(), browser, 2000).selected_changed) << "already selected";
  EXPECT_EQ(agent_.counters().checks_answered, 3u);
  EXPECT_EQ(agent_.counters().nominations, 1u);
}

TEST_F(IceLiteTest, StunThatFailsItsCheckNeitherMovesTheLegNorIsAnswered) {
  const MediaEndpoint browser = V4(7, 50123);
  ASSERT_TRUE(Send(CheckMessage(), browser, 1000).selected_changed);

  const MediaEndpoint attacker = V4(66, 4444);
  StunCheckSpec forged;
  forged.password = "a guess at the password!";
  const IceLiteAgent::Answer answer = Send(BuildStunCheck(forged), attacker, 1100);
  EXPECT_EQ(answer.refused, StunRefusal::kBadIntegrity);
  EXPECT_EQ(answer.response_size, 0u);
  EXPECT_FALSE(answer.selected_changed);
  EXPECT_EQ(agent_.selected(), browser);
  EXPECT_FALSE(agent_.PassedCheck(attacker));
  EXPECT_EQ(Refused(StunRefusal::kBadIntegrity), 1u);

  StunCheckSpec other_leg;
  other_leg.username = "otherufr:peer";
  EXPECT_EQ(Send(BuildStunCheck(other_leg), attacker, 1200).refused, StunRefusal::kUnknownUsername);
  EXPECT_EQ(Refused(StunRefusal::kUnknownUsername), 1u);
  EXPECT_EQ(agent_.selected(), browser);
}

TEST_F(IceLiteTest, ConsentLapsesThirtySecondsAfterTheLastCheckFromTheSelectedAddress) {
  const MediaEndpoint browser = V4(7, 50123);
  ASSERT_TRUE(Send(CheckMessage(), browser, 10'000).selected_changed);
  EXPECT_TRUE(agent_.ConsentFresh(10'000 + 29'999));
  EXPECT_FALSE(agent_.ConsentFresh(10'000 + 30'000));

  // Checks from another address that passes them do not keep the selected one fresh.
  ASSERT_FALSE(Send(CheckMessage(/*use_candidate=*/false), V4(8, 1), 35'000).refused);
  EXPECT_FALSE(agent_.ConsentFresh(40'000));
  // A check from the selected address brings consent back.
  ASSERT_FALSE(Send(CheckMessage(/*use_candidate=*/false), browser, 41'000).refused);
  EXPECT_TRUE(agent_.ConsentFresh(41'000 + 29'999));
  EXPECT_EQ(agent_.selected(), browser);
}

TEST_F(IceLiteTest, AnAuthenticatedNominationFromANewAddressMovesTheLeg) {
  ASSERT_TRUE(Send(CheckMessage(), V4(7, 50123), 1000).selected_changed);
  const MediaEndpoint moved = V4(9, 50200);  // the browser's new network
  const IceLiteAgent::Answer answer = Send(CheckMessage(), moved, 5000);
  EXPECT_TRUE(answer.selected_changed);
  EXPECT_EQ(agent_.selected(), moved);
  EXPECT_EQ(agent_.counters().nominations, 2u);
}

TEST_F(IceLiteTest, APeerClaimingTheControlledRoleIsAnswered487AndSelectsNothing) {
  StunCheckSpec spec;
  spec.controlling = false;
  spec.controlled = true;
  const IceLiteAgent::Answer answer = Send(BuildStunCheck(spec), V4(7, 50123), 1000);
  EXPECT_EQ(answer.refused, StunRefusal::kRoleConflict);
  ASSERT_GT(answer.response_size, 0u);
  const StunFrame response = Response(answer.response_size);
  EXPECT_EQ(response.type, 0x0111);
  EXPECT_EQ(response.transaction_id, spec.transaction_id);
  EXPECT_FALSE(agent_.selected().has_value());
  EXPECT_EQ(Refused(StunRefusal::kRoleConflict), 1u);
}

TEST_F(IceLiteTest, ManyCheckedSourcesNeverPushOutTheSelectedOne) {
  const MediaEndpoint browser = V4(7, 50123);
  ASSERT_TRUE(Send(CheckMessage(), browser, 1000).selected_changed);
  for (uint16_t i = 0; i < 3 * IceLiteAgent::kMaxCheckedSources; ++i)
    ASSERT_FALSE(
        Send(CheckMessage(false), V4(20, static_cast<uint16_t>(1000 + i)), 2000 + i).refused);
  EXPECT_TRUE(agent_.PassedCheck(browser));
  EXPECT_TRUE(agent_.ConsentFresh(1000 + 29'999));
  EXPECT_FALSE(agent_.PassedCheck(V4(20, 1000))) << "the oldest made room";
  EXPECT_TRUE(agent_.PassedCheck(V4(20, 1000 + 3 * IceLiteAgent::kMaxCheckedSources - 1)));
}

}  // namespace
}  // namespace sbc::dataplane
