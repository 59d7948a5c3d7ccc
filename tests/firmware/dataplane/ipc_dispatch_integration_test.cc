// sbc-dataplane's IPC requests, handled in-process by IpcDispatch against a running
// dataplane on the sim board: what the daemon answers sbc-mgmtd, without the daemon.
#include <gtest/gtest.h>

#include <algorithm>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sbc/firmware/dataplane.h"
#include "sbc/firmware/ipc_dispatch.h"
#include "sbc/firmware/media_service.h"
#include "sbc/mgmt/config/compile.h"
#include "sbc/schema/text_file.h"

namespace sbc::firmware {
namespace {

// Rules only: no media relay configured, so media requests are refused by the service.
constexpr char kConfig[] = R"(
interfaces { port: "wan0" zone: "outside" }
interfaces { port: "lan0" zone: "inside" }
zones { name: "outside" }
zones { name: "inside" }
)";

class IpcDispatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto board = board::LoadBoard(std::string(SBC_SOURCE_DIR) + "/board/sim.textproto");
    ASSERT_TRUE(board.has_value());
    board->mutable_cpu()->clear_worker_cores();
    board->mutable_cpu()->add_worker_cores(1);
    auto dp = Dataplane::Start(*board, {.media_sessions = 16});
    ASSERT_TRUE(dp.has_value()) << dp.error();
    dp_ = std::move(*dp);
    schema::ApplianceConfig config;
    ASSERT_TRUE(schema::ParseText(kConfig, "config", "test", &config).has_value());
    auto spec = mgmt::config::CompileConfig(config, 7, std::vector<std::string>{"wan0", "lan0"});
    ASSERT_TRUE(spec.has_value());
    compiled_ = *spec;
    media_ = std::make_unique<MediaService>(*dp_, [](const std::string&) {});
    dispatch_ = std::make_unique<IpcDispatch>(
        *dp_, *media_,
        [this](std::string_view envelope) -> std::expected<VerifiedConfig, std::string> {
          checked_.emplace_back(envelope);
          if (envelope != "good bundle") return std::unexpected("signature 1: does not verify");
          return VerifiedConfig{.tables = compiled_, .signatures = 1};
        },
        [this](const std::string& line) { log_.push_back(line); });
  }
  void TearDown() override {
    dispatch_.reset();
    media_.reset();
    dp_.reset();
  }

  schema::DataplaneResponse Apply(const std::string& bytes) {
    schema::DataplaneRequest request;
    request.set_apply_bundle(bytes);
    return dispatch_->Handle(request);
  }

  std::unique_ptr<Dataplane> dp_;
  std::unique_ptr<MediaService> media_;
  std::unique_ptr<IpcDispatch> dispatch_;
  dataplane::RuleTableSpec compiled_;
  std::vector<std::string> checked_, log_;
};

TEST_F(IpcDispatchTest, ABundleIsCheckedOnItsExactBytesAndAppliedOnlyWhenItVerifies) {
  const schema::DataplaneResponse refused = Apply("forged bundle");
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.error(), "signature 1: does not verify");
  EXPECT_EQ(refused.rules_version(), 0u) << "nothing was in force, and nothing is now";
  EXPECT_TRUE(log_.empty());

  const schema::DataplaneResponse applied = Apply("good bundle");
  EXPECT_TRUE(applied.ok()) << applied.error();
  EXPECT_EQ(applied.rules_version(), 7u);
  EXPECT_EQ(dp_->rules_version(), 7u);
  EXPECT_EQ(checked_, (std::vector<std::string>{"forged bundle", "good bundle"}));
  EXPECT_EQ(log_, std::vector<std::string>{"rules version 7 applied from sbc-mgmtd"});
}

TEST_F(IpcDispatchTest, StatusAndCountersCarryTheRulesVersionInForce) {
  ASSERT_TRUE(Apply("good bundle").ok());
  schema::DataplaneRequest status;
  status.set_get_status(true);
  const schema::DataplaneResponse status_reply = dispatch_->Handle(status);
  EXPECT_TRUE(status_reply.ok());
  EXPECT_EQ(status_reply.rules_version(), 7u);

  schema::DataplaneRequest counters;
  counters.set_get_counters(true);
  const schema::DataplaneResponse counters_reply = dispatch_->Handle(counters);
  EXPECT_TRUE(counters_reply.ok());
  EXPECT_EQ(counters_reply.rules_version(), 7u);
  std::vector<std::string> names;
  for (const schema::NamedCounter& c : counters_reply.counters()) names.push_back(c.name());
  EXPECT_EQ(names.size(), CounterList(*dp_).size());
  EXPECT_NE(std::find(names.begin(), names.end(), "port.wan0.rx_packets"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "drop.no_rule_set"), names.end());
}

// sbc-boot's hung-worker check reads these: one count per worker, moving while it polls.
TEST_F(IpcDispatchTest, StatusCarriesEachWorkersPollCountWhichMovesWhileItPolls) {
  schema::DataplaneRequest status;
  status.set_get_status(true);
  const schema::DataplaneResponse before = dispatch_->Handle(status);
  ASSERT_EQ(before.worker_polls_size(), 1);
  // Dataplane::Start returns once each worker polls: before that, a grace period does
  // not wait for a worker, so the waits below could both end before it polled at all.
  EXPECT_GT(before.worker_polls(0), 0u);
  // The first wait may end on the quiescent report of a poll counted before `before`;
  // the second needs a report after that one, so a poll ran in between.
  dp_->WaitForWorkers();
  dp_->WaitForWorkers();
  const schema::DataplaneResponse after = dispatch_->Handle(status);
  ASSERT_EQ(after.worker_polls_size(), 1);
  EXPECT_GT(after.worker_polls(0), before.worker_polls(0));
}

TEST_F(IpcDispatchTest, MediaBatchesReachTheMediaServiceAndItsRefusalsComeBack) {
  ASSERT_TRUE(Apply("good bundle").ok());
  schema::DataplaneRequest create;
  schema::MediaSession* session = create.mutable_media_create()->add_sessions();
  session->set_id(5);
  session->add_legs()->set_interface("wan0");
  const schema::DataplaneResponse created = dispatch_->Handle(create);
  EXPECT_TRUE(created.ok()) << "the batch went through; the session in it is refused";
  ASSERT_EQ(created.media_sessions_size(), 1);
  EXPECT_EQ(created.media_sessions(0).id(), 5u);
  EXPECT_EQ(created.media_sessions(0).error(),
            "the running config has no media relay (media.service_addresses, port range)");

  schema::DataplaneRequest list;
  list.set_media_list(true);
  const schema::DataplaneResponse listed = dispatch_->Handle(list);
  EXPECT_TRUE(listed.ok());
  EXPECT_EQ(listed.media_sessions_size(), 0) << "nothing half-made is left";
}

TEST_F(IpcDispatchTest, ARequestNamingNoOperationIsRefusedSayingSo) {
  const schema::DataplaneResponse reply = dispatch_->Handle(schema::DataplaneRequest());
  EXPECT_FALSE(reply.ok());
  EXPECT_EQ(reply.error(), "the request names no operation this dataplane knows");
  EXPECT_TRUE(checked_.empty());
}

}  // namespace
}  // namespace sbc::firmware
