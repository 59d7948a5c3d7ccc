// The config store: anti-rollback, every refusal leaves the running config untouched,
// commit-confirmed, rollback and diff.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <thread>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/trust/envelope.h"
#include "store_fixture.h"

namespace sbc::mgmt::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestSigners;

TEST_F(StoreFixture, PushMakesTheBundleRunning) {
  EXPECT_EQ(store_->running_version(), 0u);
  EXPECT_FALSE(store_->Running().has_value());
  const std::string envelope = Bundle(1);
  auto v = store_->Push(envelope);
  ASSERT_TRUE(v.has_value()) << v.error().message;
  EXPECT_EQ(*v, 1u);
  EXPECT_EQ(store_->running_version(), 1u);
  EXPECT_EQ(store_->highest_version(), 1u);
  EXPECT_EQ(store_->RunningEnvelope(), envelope);  // the exact bytes that verified
  ASSERT_TRUE(store_->Running().has_value());
  EXPECT_EQ(store_->Running()->config().rules_size(), 3);
  Reopen();
  EXPECT_EQ(store_->running_version(), 1u);
}

// One refused push: what it is, and the reason and message it must get.
struct RefusalCase {
  const char* label;
  std::function<std::string(const TestSigners&)> envelope;
  Rejection reason;
  const char* message;
};
void PrintTo(const RefusalCase& c, std::ostream* os) { *os << c.label; }

class StoreRefusalTest : public StoreFixture, public ::testing::WithParamInterface<RefusalCase> {
 public:
  static schema::ConfigBundle Valid(uint64_t version) {
    schema::ConfigBundle bundle;
    *bundle.mutable_meta() = TestSigners::Meta(version, schema::DEVELOPMENT);
    *bundle.mutable_config() = testing::SampleConfig();
    return bundle;
  }
};

TEST_P(StoreRefusalTest, LeavesTheRunningConfigUnchanged) {
  ASSERT_TRUE(store_->Push(Bundle(5)).has_value());
  const std::string running_before = *store_->RunningEnvelope();
  const auto state_before = base::ReadFile(dir_ / "state.pb");
  const std::string envelope = GetParam().envelope(signers_);

  auto result = store_->Push(envelope);
  ASSERT_FALSE(result.has_value()) << "accepted";
  EXPECT_EQ(trust::RejectionName(result.error().reason), trust::RejectionName(GetParam().reason));
  EXPECT_THAT(result.error().message, HasSubstr(GetParam().message));

  EXPECT_EQ(store_->running_version(), 5u);
  EXPECT_EQ(*store_->RunningEnvelope(), running_before);
  EXPECT_EQ(store_->highest_version(), 5u);
  EXPECT_EQ(base::ReadFile(dir_ / "state.pb"), state_before);
  Reopen();  // and so it stays after a restart
  EXPECT_EQ(store_->running_version(), 5u);
  EXPECT_EQ(*store_->RunningEnvelope(), running_before);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, StoreRefusalTest,
    ::testing::Values(
        RefusalCase{"bad_signature",
                    [](const TestSigners& s) {
                      schema::SignedEnvelope e;
                      e.ParseFromString(s.Sign(StoreRefusalTest::Valid(6), {0, 1}));
                      e.mutable_signatures(0)->mutable_sig()->back() ^= 1;
                      return e.SerializeAsString();
                    },
                    Rejection::kBadSignature, "does not verify"},
        RefusalCase{"unknown_key",
                    [](const TestSigners& s) {
                      TestSigners strangers(1, 1);
                      schema::SignedEnvelope e;
                      e.ParseFromString(s.Sign(StoreRefusalTest::Valid(6), {0, 1}));
                      (void)trust::AddSignature(e, strangers.key(0));
                      return e.SerializeAsString();
                    },
                    Rejection::kUnknownKey, "does not list"},
        RefusalCase{"threshold_not_met",
                    [](const TestSigners& s) { return s.Sign(StoreRefusalTest::Valid(6), {2}); },
                    Rejection::kThresholdNotMet, "requires 2"},
        RefusalCase{"version_replay", [](const TestSigners& s) { return s.Bundle(5); },
                    Rejection::kVersionNotNewer, "version 5 is not above the highest accepted (5)"},
        RefusalCase{"version_lower", [](const TestSigners& s) { return s.Bundle(4); },
                    Rejection::kVersionNotNewer, "version 4 is not above the highest accepted (5)"},
        RefusalCase{"wrong_environment",
                    [](const TestSigners& s) {
                      auto b = StoreRefusalTest::Valid(6);
                      b.mutable_meta()->set_environment(schema::STAGING);
                      return s.Sign(b, {0, 1});
                    },
                    Rejection::kWrongEnvironment, "signed for STAGING"},
        RefusalCase{"wrong_serial",
                    [](const TestSigners& s) {
                      auto b = StoreRefusalTest::Valid(6);
                      b.mutable_meta()->set_target_serial("SN-9");
                      return s.Sign(b, {0, 1});
                    },
                    Rejection::kWrongSerial, "signed for appliance SN-9"},
        RefusalCase{"expired",
                    [](const TestSigners& s) {
                      auto b = StoreRefusalTest::Valid(6);
                      b.mutable_meta()->set_expires_unix(std::time(nullptr) - 60);
                      return s.Sign(b, {0, 1});
                    },
                    Rejection::kExpired, "expired at"},
        RefusalCase{"schema_invalid",
                    [](const TestSigners& s) {
                      auto b = StoreRefusalTest::Valid(6);
                      b.mutable_config()->mutable_rules(0)->set_to_zone("mars");
                      return s.Sign(b, {0, 1});
                    },
                    Rejection::kSchemaInvalid, "rules[0].to_zone: no zone named \"mars\""},
        RefusalCase{"truncated",
                    [](const TestSigners& s) {
                      const std::string good = s.Bundle(6);
                      return good.substr(0, good.size() - 40);
                    },
                    Rejection::kMalformed, "truncated or garbage"},
        RefusalCase{"garbage", [](const TestSigners&) { return std::string("\x0a\xff\x01zz"); },
                    Rejection::kMalformed, "truncated or garbage"}),
    [](const auto& test_info) { return std::string(test_info.param.label); });

TEST_F(StoreFixture, DowngradeNeedsAnAuthorisationNamingExactlyThatVersion) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2)).has_value());
  const std::string old_again = Bundle(1, 4);

  auto wrong = store_->Push(old_again, {.downgrade_authorization = Downgrade(5)});
  ASSERT_FALSE(wrong.has_value());
  EXPECT_THAT(wrong.error().message, HasSubstr("the downgrade authorisation names version 5"));

  auto weak = store_->Push(old_again, {.downgrade_authorization = Downgrade(1, {0})});
  ASSERT_FALSE(weak.has_value());
  EXPECT_THAT(weak.error().message, HasSubstr("downgrade authorisation: signed by 1"));
  EXPECT_EQ(store_->running_version(), 2u);

  auto ok = store_->Push(old_again, {.downgrade_authorization = Downgrade(1)});
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(store_->running_version(), 1u);
  EXPECT_EQ(store_->Running()->config().rules_size(), 4);
  EXPECT_EQ(store_->highest_version(), 2u);  // a downgrade never lowers the bar
}

TEST_F(StoreFixture, HighestVersionSurvivesTrimmedAndDeletedHistory) {
  Reopen({.history_limit = 3});
  for (uint64_t v = 1; v <= 6; ++v) ASSERT_TRUE(store_->Push(Bundle(v)).has_value());
  EXPECT_THAT(store_->state().history(), ElementsAre(4, 5, 6));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ / "bundles"),
                          std::filesystem::directory_iterator()),
            3);
  // Someone wipes the history and the state; anti-rollback must not reset.
  std::filesystem::remove_all(dir_ / "bundles");
  std::filesystem::remove(dir_ / "state.pb");
  Reopen();
  EXPECT_EQ(store_->highest_version(), 6u);
  auto replay = store_->Push(Bundle(3));
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().reason, Rejection::kVersionNotNewer);
  EXPECT_TRUE(store_->Push(Bundle(7)).has_value());
}

TEST_F(StoreFixture, UnconfirmedPushRevertsAfterItsTimeout) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2), {.confirm_within_s = 30}).has_value());
  EXPECT_EQ(store_->running_version(), 2u);
  clock_.Advance(29);
  EXPECT_FALSE(store_->Tick());
  EXPECT_EQ(store_->running_version(), 2u);
  clock_.Advance(2);
  EXPECT_TRUE(store_->Tick());
  EXPECT_EQ(store_->running_version(), 1u);
  EXPECT_THAT(store_->state().reverted(), ElementsAre(2));
  EXPECT_FALSE(store_->state().has_pending());
  EXPECT_EQ(store_->highest_version(), 2u);
  Reopen();
  EXPECT_EQ(store_->running_version(), 1u);
}

TEST_F(StoreFixture, ConfirmedPushStays) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2), {.confirm_within_s = 30}).has_value());
  ASSERT_TRUE(store_->Confirm().has_value());
  clock_.Advance(3600);
  EXPECT_FALSE(store_->Tick());
  EXPECT_EQ(store_->running_version(), 2u);
  auto again = store_->Confirm();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().reason, Rejection::kNothingPending);
}

TEST_F(StoreFixture, UnconfirmedChainRevertsToTheLastConfirmedConfig) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2), {.confirm_within_s = 30}).has_value());
  ASSERT_TRUE(store_->Push(Bundle(3), {.confirm_within_s = 30}).has_value());
  clock_.Advance(31);
  EXPECT_TRUE(store_->Tick());
  EXPECT_EQ(store_->running_version(), 1u);
}

TEST_F(StoreFixture, DeadlinePassedWhileDownRevertsAtStartUp) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2), {.confirm_within_s = 10}).has_value());
  store_.reset();  // the appliance reboots
  clock_.Advance(11);
  Reopen();
  EXPECT_EQ(store_->running_version(), 1u);
}

TEST(StoreRealTimeTest, ShortTimeoutRevertsOnTheSystemClock) {
  testing::TestSigners signers(1, 1);
  auto verifier = trust::Verifier::Create(signers.root(), signers.Identity());
  ASSERT_TRUE(verifier.has_value());
  const auto dir =
      std::filesystem::temp_directory_path() / ("sbc-store-realtime-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  base::SystemClock clock;
  auto store = ConfigStore::Open(dir, *verifier, clock, {});
  ASSERT_TRUE(store.has_value());
  ASSERT_TRUE((*store)->Push(signers.Bundle(1)).has_value());
  const auto pushed = std::chrono::steady_clock::now();
  ASSERT_TRUE((*store)->Push(signers.Bundle(2), {.confirm_within_s = 1}).has_value());
  // It reverts once the second has passed on the system clock (a deadline before that
  // is the FakeClock tests' business), however late this thread gets to look.
  while (!(*store)->Tick()) {
    ASSERT_LT(std::chrono::steady_clock::now() - pushed, std::chrono::seconds(300))
        << "never reverted";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(std::chrono::steady_clock::now() - pushed, std::chrono::milliseconds(990))
      << "reverted early";
  EXPECT_EQ((*store)->running_version(), 1u);
  std::filesystem::remove_all(dir);
}

TEST_F(StoreFixture, RollbackReappliesAStoredVersion) {
  for (uint64_t v = 1; v <= 3; ++v) ASSERT_TRUE(store_->Push(Bundle(v, int(v))).has_value());
  ASSERT_TRUE(store_->Rollback(1).has_value());
  EXPECT_EQ(store_->running_version(), 1u);
  EXPECT_EQ(store_->Running()->config().rules_size(), 1);
  EXPECT_EQ(store_->highest_version(), 3u);
  auto missing = store_->Rollback(9);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().reason, Rejection::kUnknownVersion);
  EXPECT_EQ(store_->running_version(), 1u);
}

// An expired version cannot run again: the dataplane verifies every bundle itself and
// would refuse it, so the store refuses the rollback, saying why, and changes nothing
// (it used to accept it and then report a version the dataplane was not running).
TEST_F(StoreFixture, RollbackToAnExpiredVersionIsRefusedWithTheReason) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2)).has_value());
  clock_.Advance(2 * 3600);  // both bundles expired an hour ago
  const auto refused = store_->Rollback(1);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, Rejection::kExpired);
  EXPECT_THAT(refused.error().message, HasSubstr("stored version 1: "));
  EXPECT_THAT(refused.error().message, HasSubstr("cannot run again"));
  EXPECT_EQ(store_->running_version(), 2u);
}

// A commit-confirmed push whose predecessor expired meanwhile is kept, not reverted to
// a version that cannot run.
TEST_F(StoreFixture, AnUnconfirmedPushIsKeptWhenWhatItWouldRevertToHasExpired) {
  ASSERT_TRUE(store_->Push(Bundle(1)).has_value());
  clock_.Advance(3000);  // version 1 expires in 600 s
  ASSERT_TRUE(store_->Push(signers_.Bundle(2), {.confirm_within_s = 1200}).has_value());
  clock_.Advance(1300);
  const auto ended = store_->Tick();
  ASSERT_TRUE(ended.has_value());
  EXPECT_THAT(*ended,
              HasSubstr("version 2 was not confirmed in time, but is kept: stored version 1: "));
  EXPECT_EQ(store_->running_version(), 2u);
  EXPECT_FALSE(store_->state().has_pending());
}

TEST_F(StoreFixture, DiffShowsWhatChangedBetweenVersions) {
  ASSERT_TRUE(store_->Push(Bundle(1, 2)).has_value());
  ASSERT_TRUE(store_->Push(Bundle(2, 3)).has_value());
  auto diff = store_->Diff(1, 2);
  ASSERT_TRUE(diff.has_value());
  EXPECT_THAT(*diff, HasSubstr("--- version 1\n+++ version 2\n"));
  EXPECT_THAT(*diff, HasSubstr("+  name: \"rule-2\"\n"));
  EXPECT_EQ(store_->Diff(1, 8).error().reason, Rejection::kUnknownVersion);
}

}  // namespace
}  // namespace sbc::mgmt::store
