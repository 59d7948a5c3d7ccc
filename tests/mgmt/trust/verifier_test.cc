// Every way a signed bundle can be refused, each with its own reason and message, and
// every way a trust root can be unfit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>

#include "sbc/mgmt/trust/envelope.h"
#include "sbc/mgmt/trust/verifier.h"
#include "support/signing.h"

namespace sbc::mgmt::trust {
namespace {

using ::testing::HasSubstr;
using testing::SampleConfig;
using testing::TestSigners;

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() : signers_(3, 2) {}
  void SetUp() override {
    auto v = Verifier::Create(signers_.root(), signers_.Identity("SN-1"));
    ASSERT_TRUE(v.has_value()) << v.error();
    verifier_.emplace(std::move(*v));
  }

  schema::ConfigBundle Bundle(uint64_t version = 1) {
    schema::ConfigBundle bundle;
    *bundle.mutable_meta() = TestSigners::Meta(version, schema::DEVELOPMENT);
    *bundle.mutable_config() = SampleConfig();
    return bundle;
  }

  void ExpectRefused(const std::string& envelope, Rejection reason, const std::string& message) {
    auto result = verifier_->VerifyConfigBundle(envelope, std::time(nullptr));
    ASSERT_FALSE(result.has_value()) << "accepted";
    EXPECT_EQ(RejectionName(result.error().reason), RejectionName(reason));
    EXPECT_THAT(result.error().message, HasSubstr(message));
  }

  TestSigners signers_;
  std::optional<Verifier> verifier_;
};

TEST_F(VerifierTest, AcceptsABundleThatMeetsTheThreshold) {
  auto bundle = verifier_->VerifyConfigBundle(signers_.Sign(Bundle(), {0, 2}), std::time(nullptr));
  ASSERT_TRUE(bundle.has_value()) << bundle.error().message;
  EXPECT_EQ(bundle->meta().version(), 1u);
}

TEST_F(VerifierTest, RefusesGarbageAndTruncatedBytes) {
  ExpectRefused("", Rejection::kMalformed, "truncated or garbage");
  ExpectRefused("\xff\xff\xff garbage", Rejection::kMalformed, "truncated or garbage");
  const std::string good = signers_.Sign(Bundle(), {0, 1});
  ExpectRefused(good.substr(0, good.size() / 2), Rejection::kMalformed, "truncated or garbage");
}

TEST_F(VerifierTest, RefusesAModifiedPayload) {
  schema::SignedEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(signers_.Sign(Bundle(), {0, 1})));
  envelope.mutable_payload()->back() ^= 1;
  ExpectRefused(envelope.SerializeAsString(), Rejection::kBadSignature, "does not verify");
}

TEST_F(VerifierTest, RefusesASignatureOverAnotherPayload) {
  schema::SignedEnvelope first, second;
  ASSERT_TRUE(first.ParseFromString(signers_.Sign(Bundle(1), {0, 1})));
  ASSERT_TRUE(second.ParseFromString(signers_.Sign(Bundle(2), {0, 1})));
  *first.mutable_signatures(1) = second.signatures(1);
  ExpectRefused(first.SerializeAsString(), Rejection::kBadSignature, "does not verify");
}

TEST_F(VerifierTest, RefusesAnUnknownKey) {
  TestSigners strangers(1, 1);
  schema::SignedEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(signers_.Sign(Bundle(), {0, 1})));
  ASSERT_TRUE(AddSignature(envelope, strangers.key(0)).has_value());
  ExpectRefused(envelope.SerializeAsString(), Rejection::kUnknownKey,
                "which the trust root does not list");
}

TEST_F(VerifierTest, RefusesBelowTheThreshold) {
  ExpectRefused(signers_.Sign(Bundle(), {1}), Rejection::kThresholdNotMet,
                "signed by 1 CONFIG key(s), the trust root requires 2");
}

TEST_F(VerifierTest, TheSameKeyTwiceCountsOnce) {
  schema::SignedEnvelope envelope;
  ASSERT_TRUE(envelope.ParseFromString(signers_.Sign(Bundle(), {1})));
  *envelope.add_signatures() = envelope.signatures(0);
  ExpectRefused(envelope.SerializeAsString(), Rejection::kThresholdNotMet, "signed by 1");
}

TEST_F(VerifierTest, RefusesAnUnsignedEnvelope) {
  ExpectRefused(MakeEnvelope(kConfigBundleType, Bundle().SerializeAsString()).SerializeAsString(),
                Rejection::kUnsigned, "no signatures");
}

TEST_F(VerifierTest, RefusesAnotherPayloadType) {
  schema::DowngradeAuthorization auth;
  *auth.mutable_meta() = TestSigners::Meta(1, schema::DEVELOPMENT);
  ExpectRefused(signers_.Sign(auth, {0, 1}), Rejection::kWrongPayloadType,
                "payload type is \"application/vnd.sbc.downgrade.v1+protobuf\"");
}

TEST_F(VerifierTest, RefusesTheWrongEnvironment) {
  schema::ConfigBundle bundle = Bundle();
  bundle.mutable_meta()->set_environment(schema::PRODUCTION);
  ExpectRefused(signers_.Sign(bundle, {0, 1}), Rejection::kWrongEnvironment,
                "signed for PRODUCTION, this appliance is DEVELOPMENT");
}

TEST_F(VerifierTest, RefusesTheWrongSerialAndAcceptsTheRightOne) {
  schema::ConfigBundle bundle = Bundle();
  bundle.mutable_meta()->set_target_serial("SN-2");
  ExpectRefused(signers_.Sign(bundle, {0, 1}), Rejection::kWrongSerial,
                "signed for appliance SN-2, this is SN-1");
  bundle.mutable_meta()->set_target_serial("SN-1");
  EXPECT_TRUE(verifier_->VerifyConfigBundle(signers_.Sign(bundle, {0, 1}), std::time(nullptr)));
}

TEST_F(VerifierTest, RefusesExpiredAndNeverExpiringBundles) {
  schema::ConfigBundle bundle = Bundle();
  bundle.mutable_meta()->set_expires_unix(std::time(nullptr) - 1);
  ExpectRefused(signers_.Sign(bundle, {0, 1}), Rejection::kExpired, "expired at unix time");
  bundle.mutable_meta()->set_expires_unix(0);
  ExpectRefused(signers_.Sign(bundle, {0, 1}), Rejection::kExpired, "has no expiry time");
}

TEST_F(VerifierTest, RefusesASchemaInvalidConfig) {
  schema::ConfigBundle bundle = Bundle();
  bundle.mutable_config()->mutable_rules(2)->set_dst_ports(0, "7000-6000");
  ExpectRefused(signers_.Sign(bundle, {0, 1}), Rejection::kSchemaInvalid,
                "config is invalid: rules[2].dst_ports[0]: range 7000-6000 is empty");
}

TEST_F(VerifierTest, RefusesVersionZero) {
  ExpectRefused(signers_.Sign(Bundle(0), {0, 1}), Rejection::kMalformed, "version 0");
}

TEST(TrustRootTest, ProductionApplianceRefusesDevelopmentAndStagingRoots) {
  for (schema::Environment env : {schema::DEVELOPMENT, schema::STAGING}) {
    TestSigners signers(1, 1, env);
    schema::ApplianceIdentity identity;
    identity.set_environment(schema::PRODUCTION);
    auto v = Verifier::Create(signers.root(), identity);
    ASSERT_FALSE(v.has_value());
    EXPECT_THAT(v.error(), HasSubstr("trust root is for " + schema::Environment_Name(env) +
                                     ", this appliance is PRODUCTION"));
  }
}

TEST(TrustRootTest, RefusesAKeyIdThatDoesNotMatchItsKey) {
  TestSigners signers(2, 1);
  schema::TrustRoot root = signers.root();
  root.mutable_keys(1)->set_key_id(root.keys(0).key_id());
  auto v = Verifier::Create(root, signers.Identity());
  ASSERT_FALSE(v.has_value());
  EXPECT_THAT(v.error(), HasSubstr("does not match the key"));
}

TEST(TrustRootTest, RefusesAnImpossibleOrMissingThreshold) {
  TestSigners signers(2, 1);
  schema::TrustRoot root = signers.root();
  root.mutable_thresholds(0)->set_threshold(3);
  EXPECT_THAT(Verifier::Create(root, signers.Identity()).error(),
              HasSubstr("threshold 3 for CONFIG is outside 1..2"));
  root.clear_thresholds();
  EXPECT_THAT(Verifier::Create(root, signers.Identity()).error(),
              HasSubstr("no threshold for role CONFIG"));
}

TEST(TrustRootTest, FirmwareKeysCannotSignConfig) {
  TestSigners signers(2, 1);
  schema::TrustRoot root = signers.root();
  root.mutable_keys(1)->set_role(schema::FIRMWARE);
  auto* t = root.add_thresholds();
  t->set_role(schema::FIRMWARE);
  t->set_threshold(1);
  auto v = Verifier::Create(root, signers.Identity());
  ASSERT_TRUE(v.has_value()) << v.error();
  schema::ConfigBundle bundle;
  *bundle.mutable_meta() = TestSigners::Meta(1, schema::DEVELOPMENT);
  *bundle.mutable_config() = SampleConfig();
  auto result = v->VerifyConfigBundle(signers.Sign(bundle, {1}), std::time(nullptr));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().reason, Rejection::kWrongRole);
  EXPECT_THAT(result.error().message, HasSubstr("has role FIRMWARE, not CONFIG"));
}

}  // namespace
}  // namespace sbc::mgmt::trust
