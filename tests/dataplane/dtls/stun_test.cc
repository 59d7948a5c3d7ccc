#include "sbc/dataplane/dtls/stun.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sbc/dataplane/dtls/demux.h"
#include "stun_check_builder.h"

namespace sbc::dataplane {
namespace {

using testing::BuildStunCheck;
using testing::StunCheckSpec;

constexpr std::string_view kLocalUfrag = "ourufrag";
constexpr std::string_view kRemoteUfrag = "peer";
constexpr std::string_view kLocalPwd = "our-password-of-24-chars";

std::expected<StunBindingCheck, StunRefusal> Check(const std::vector<uint8_t>& datagram) {
  return CheckBindingRequest(datagram, kLocalUfrag, kLocalPwd, kRemoteUfrag);
}

struct Vector {
  std::string name, password, mapped;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

std::vector<Vector> ReadVectors() {
  std::ifstream in(SBC_SOURCE_DIR "/tests/dataplane/dtls/rfc5769_vectors.data");
  std::vector<Vector> vectors;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string key, value;
    words >> key >> value;
    if (key == "name") {
      vectors.push_back({.name = value});
    } else if (vectors.empty()) {
      ADD_FAILURE() << "a vector's " << key << " before its name";
    } else if (key == "password") {
      vectors.back().password = value;
    } else if (key == "hex") {
      const std::vector<uint8_t> bytes = FromHex(value);
      vectors.back().bytes.insert(vectors.back().bytes.end(), bytes.begin(), bytes.end());
    } else if (key == "mapped") {
      vectors.back().mapped = value;
    } else {
      ADD_FAILURE() << "unknown key " << key;
    }
  }
  return vectors;
}

TEST(StunTest, Rfc5769VectorsFrameAndTheirFingerprintAndIntegrityHold) {
  const std::vector<Vector> vectors = ReadVectors();
  ASSERT_EQ(vectors.size(), 3u);
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.name);
    const auto frame = FrameStun(v.bytes);
    ASSERT_TRUE(frame.has_value()) << StunRefusalName(frame.error());
    EXPECT_TRUE(FingerprintMatches(*frame));
    EXPECT_TRUE(IntegrityMatches(*frame, v.password));
    EXPECT_FALSE(IntegrityMatches(*frame, "VOkJxbRl1RmTxUk/WvJxBT"));  // one letter's case
    if (!v.mapped.empty()) {
      const auto mapped = XorMappedAddress(*frame);
      EXPECT_EQ(mapped ? ToText(*mapped) : "no XOR-MAPPED-ADDRESS", v.mapped);
    }
    std::vector<uint8_t> flipped = v.bytes;
    flipped[30] ^= 0x01;  // inside the first attribute: both protections notice
    const auto tampered = FrameStun(flipped);
    ASSERT_TRUE(tampered.has_value());
    EXPECT_FALSE(FingerprintMatches(*tampered));
    EXPECT_FALSE(IntegrityMatches(*tampered, v.password));
  }
}

// RFC 5769's request comes from a controlled agent: it authenticates, and an ICE-lite
// agent (always controlled itself) refuses it as a role conflict, after integrity.
TEST(StunTest, Rfc5769SampleRequestAuthenticatesAndIsARoleConflict) {
  const Vector request = ReadVectors().at(0);
  ASSERT_EQ(request.name, "sample_request");
  EXPECT_EQ(CheckBindingRequest(request.bytes, "evtj", request.password, "h6vY").error(),
            StunRefusal::kRoleConflict);
  EXPECT_EQ(CheckBindingRequest(request.bytes, "evtj", "wrong password", "h6vY").error(),
            StunRefusal::kBadIntegrity);
  EXPECT_EQ(CheckBindingRequest(request.bytes, "h6vY", request.password, "evtj").error(),
            StunRefusal::kUnknownUsername);
}

TEST(StunTest, AWebRtcCheckPassesWithWhatItSays) {
  StunCheckSpec spec;
  spec.priority = 0x7E7F00FF;
  const auto check = Check(BuildStunCheck(spec));
  ASSERT_TRUE(check.has_value()) << StunRefusalName(check.error());
  EXPECT_EQ(check->transaction_id, spec.transaction_id);
  EXPECT_EQ(check->priority, 0x7E7F00FFu);
  EXPECT_TRUE(check->use_candidate);
  EXPECT_EQ(check->tie_breaker, 0x0102030405060708u);

  spec.use_candidate = false;
  const auto plain = Check(BuildStunCheck(spec));
  ASSERT_TRUE(plain.has_value()) << StunRefusalName(plain.error());
  EXPECT_FALSE(plain->use_candidate);
}

TEST(StunTest, AttributesAfterMessageIntegrityAreIgnoredEvenUnknownOnes) {
  StunCheckSpec spec;
  spec.extra_after = {{0x0003, {1, 2, 3, 4}}};  // CHANGE-REQUEST: not ours to honour
  EXPECT_TRUE(Check(BuildStunCheck(spec)).has_value());
}

struct RefusalCase {
  const char* description;
  std::function<void(StunCheckSpec&)> change;
  StunRefusal expected;
};

class StunRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(StunRefusalTest, IsRefusedWithItsReason) {
  StunCheckSpec spec;
  GetParam().change(spec);
  const auto check = Check(BuildStunCheck(spec));
  ASSERT_FALSE(check.has_value()) << GetParam().description;
  EXPECT_EQ(StunRefusalName(check.error()), StunRefusalName(GetParam().expected))
      << GetParam().description;
}

void Truncate(StunCheckSpec& s, size_t n) {
  s.mutate = [n](std::vector<uint8_t>& m) { m.resize(n); };
}

INSTANTIATE_TEST_SUITE_P(
    Table, StunRefusalTest,
    ::testing::Values(
        RefusalCase{"shorter than a header", [](StunCheckSpec& s) { Truncate(s, 19); },
                    StunRefusal::kMalformed},
        RefusalCase{"the top two bits set (RTP's first byte is 0x80)",
                    [](StunCheckSpec& s) { s.type = 0x8001; }, StunRefusal::kMalformed},
        RefusalCase{"no magic cookie (RFC 3489's STUN)",
                    [](StunCheckSpec& s) { s.mutate = [](auto& m) { m[4] = 0; }; },
                    StunRefusal::kMalformed},
        RefusalCase{"the length not a multiple of four",
                    [](StunCheckSpec& s) { s.mutate = [](auto& m) { m[3] |= 1; }; },
                    StunRefusal::kMalformed},
        RefusalCase{"bytes past the STUN length",
                    [](StunCheckSpec& s) { s.mutate = [](auto& m) { m.resize(m.size() + 4); }; },
                    StunRefusal::kMalformed},
        RefusalCase{"cut short inside the last attribute",
                    [](StunCheckSpec& s) {
                      s.mutate = [](auto& m) {
                        m.resize(m.size() - 4);
                        testing::SetStunLength(m, m.size() - 20);
                      };
                    },
                    StunRefusal::kBadAttribute},
        RefusalCase{"MESSAGE-INTEGRITY of 16 bytes",
                    [](StunCheckSpec& s) {
                      s.with_integrity = false;
                      s.extra_before = {{0x0008, std::vector<uint8_t>(16)}};
                    },
                    StunRefusal::kBadAttribute},
        RefusalCase{"a success response, not a request", [](StunCheckSpec& s) { s.type = 0x0101; },
                    StunRefusal::kNotBindingRequest},
        RefusalCase{"an indication", [](StunCheckSpec& s) { s.type = 0x0011; },
                    StunRefusal::kNotBindingRequest},
        RefusalCase{"no FINGERPRINT", [](StunCheckSpec& s) { s.with_fingerprint = false; },
                    StunRefusal::kNoFingerprint},
        RefusalCase{"an attribute after FINGERPRINT",
                    [](StunCheckSpec& s) {
                      s.mutate = [](auto& m) {
                        testing::PutAttribute(m, 0x8022, {'x', 'y', 'z', 'w'});
                        testing::SetStunLength(m, m.size() - 20);
                      };
                    },
                    StunRefusal::kNoFingerprint},
        RefusalCase{"FINGERPRINT one bit off",
                    [](StunCheckSpec& s) { s.mutate = [](auto& m) { m.back() ^= 1; }; },
                    StunRefusal::kBadFingerprint},
        RefusalCase{"no MESSAGE-INTEGRITY", [](StunCheckSpec& s) { s.with_integrity = false; },
                    StunRefusal::kNoIntegrity},
        RefusalCase{"no USERNAME", [](StunCheckSpec& s) { s.with_username = false; },
                    StunRefusal::kNoIntegrity},
        RefusalCase{"another leg's ufrag", [](StunCheckSpec& s) { s.username = "otherufr:peer"; },
                    StunRefusal::kUnknownUsername},
        RefusalCase{"another peer's ufrag", [](StunCheckSpec& s) { s.username = "ourufrag:peeR"; },
                    StunRefusal::kUnknownUsername},
        RefusalCase{"our ufrag alone", [](StunCheckSpec& s) { s.username = "ourufrag"; },
                    StunRefusal::kUnknownUsername},
        RefusalCase{"the ufrags the other way round",
                    [](StunCheckSpec& s) { s.username = "peer:ourufrag"; },
                    StunRefusal::kUnknownUsername},
        RefusalCase{"keyed with another password",
                    [](StunCheckSpec& s) { s.password = "our-password-of-24-charS"; },
                    StunRefusal::kBadIntegrity},
        RefusalCase{"an unknown comprehension-required attribute",
                    [](StunCheckSpec& s) {
                      s.extra_before = {{0x0003, {0, 0, 0, 0}}};
                    },
                    StunRefusal::kUnknownAttribute},
        RefusalCase{"no PRIORITY", [](StunCheckSpec& s) { s.with_priority = false; },
                    StunRefusal::kNoPriority},
        RefusalCase{"PRIORITY of two bytes",
                    [](StunCheckSpec& s) {
                      s.with_priority = false;
                      s.extra_before = {{0x0024, {1, 2}}};
                    },
                    StunRefusal::kBadAttribute},
        RefusalCase{"USE-CANDIDATE with a value",
                    [](StunCheckSpec& s) {
                      s.use_candidate = false;
                      s.extra_before = {{0x0025, {1, 2, 3, 4}}};
                    },
                    StunRefusal::kBadAttribute},
        RefusalCase{"the peer claims the controlled role",
                    [](StunCheckSpec& s) {
                      s.controlling = false;
                      s.controlled = true;
                    },
                    StunRefusal::kRoleConflict},
        RefusalCase{"the peer claims neither role", [](StunCheckSpec& s) { s.controlling = false; },
                    StunRefusal::kNoRole}));

MediaEndpoint Endpoint(Family family, std::vector<uint8_t> address, uint16_t port) {
  MediaEndpoint e;
  e.family = family;
  std::copy(address.begin(), address.end(), e.address.begin());
  e.port = port;
  return e;
}

TEST(StunTest, ASuccessResponseCarriesTheSourceAndIsProtectedWithOurPassword) {
  const StunTransactionId id{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
  for (const MediaEndpoint& source :
       {Endpoint(Family::kIpv4, {198, 51, 100, 7}, 50123),
        Endpoint(Family::kIpv6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9},
                 443)}) {
    SCOPED_TRACE(ToText(source));
    std::array<uint8_t, kMaxStunResponse> out{};
    const size_t size = WriteBindingSuccess(id, source, kLocalPwd, out);
    ASSERT_GT(size, 0u);
    const auto frame = FrameStun(std::span<const uint8_t>(out.data(), size));
    ASSERT_TRUE(frame.has_value()) << StunRefusalName(frame.error());
    EXPECT_EQ(frame->type, 0x0101);
    EXPECT_EQ(frame->transaction_id, id);
    EXPECT_TRUE(FingerprintMatches(*frame));
    EXPECT_TRUE(IntegrityMatches(*frame, kLocalPwd));
    EXPECT_FALSE(IntegrityMatches(*frame, "another password"));
    EXPECT_EQ(XorMappedAddress(*frame), source);
    EXPECT_EQ(ClassifyRelayPayload(out[0]), RelayPayload::kStun);
  }
}

TEST(StunTest, ARoleConflictIsAnAuthenticated487) {
  const StunTransactionId id{1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144};
  std::array<uint8_t, kMaxStunResponse> out{};
  const size_t size = WriteRoleConflict(id, kLocalPwd, out);
  ASSERT_GT(size, 0u);
  const auto frame = FrameStun(std::span<const uint8_t>(out.data(), size));
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->type, 0x0111);
  EXPECT_TRUE(FingerprintMatches(*frame));
  EXPECT_TRUE(IntegrityMatches(*frame, kLocalPwd));
  // ERROR-CODE right after the header: class 4, number 87, then the reason.
  EXPECT_EQ(out[20], 0x00);
  EXPECT_EQ(out[21], 0x09);
  EXPECT_EQ(out[26], 4);
  EXPECT_EQ(out[27], 87);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&out[28]), 13), "Role Conflict");
}

TEST(StunTest, NothingIsWrittenIntoTooSmallABufferOrForANonIpSource) {
  std::array<uint8_t, kMaxStunResponse - 1> small{};
  const MediaEndpoint v4 = Endpoint(Family::kIpv4, {192, 0, 2, 1}, 1);
  EXPECT_EQ(WriteBindingSuccess({}, v4, kLocalPwd, small), 0u);
  EXPECT_EQ(WriteRoleConflict({}, kLocalPwd, small), 0u);
  std::array<uint8_t, kMaxStunResponse> out{};
  EXPECT_EQ(WriteBindingSuccess({}, Endpoint(Family::kArp, {}, 1), kLocalPwd, out), 0u);
}

TEST(StunTest, EveryRefusalHasItsOwnCounterName) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kStunRefusalCount; ++i) {
    const std::string_view name = StunRefusalName(static_cast<StunRefusal>(i));
    EXPECT_TRUE(name.starts_with("stun_")) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kStunRefusalCount);
}

// RFC 7983 section 7's ranges, at both ends of each.
TEST(RelayDemuxTest, TheFirstByteSaysStunDtlsMediaOrNeither) {
  struct Case {
    uint8_t first;
    RelayPayload expected;
  };
  for (const Case c : {Case{0, RelayPayload::kStun}, Case{3, RelayPayload::kStun},
                       Case{4, RelayPayload::kOther}, Case{16, RelayPayload::kOther},  // ZRTP
                       Case{19, RelayPayload::kOther}, Case{20, RelayPayload::kDtls},
                       Case{22, RelayPayload::kDtls}, Case{63, RelayPayload::kDtls},
                       Case{64, RelayPayload::kOther},  // TURN channel
                       Case{79, RelayPayload::kOther}, Case{127, RelayPayload::kOther},
                       Case{128, RelayPayload::kMedia}, Case{0x80, RelayPayload::kMedia},
                       Case{191, RelayPayload::kMedia}, Case{192, RelayPayload::kOther},
                       Case{255, RelayPayload::kOther}})
    EXPECT_EQ(ClassifyRelayPayload(c.first), c.expected) << int{c.first};
}

}  // namespace
}  // namespace sbc::dataplane
