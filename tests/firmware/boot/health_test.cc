// The health check's proof that the running config's rules are live: the dataplane
// answers a status request on its IPC socket (here a fake that answers once) and
// enforces the version sbc-mgmtd's store runs (here a store state file written by hand).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "boot_fixture.h"
#include "sbc/firmware/run.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"
#include "sbc/schema/control.pb.h"
#include "sbc/schema/store.pb.h"

namespace sbc::firmware {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// Answers one dataplane request with `rules_version`, and records what it was asked.
class FakeDataplane {
 public:
  FakeDataplane(const fs::path& socket, uint64_t rules_version) {
    fs::create_directories(socket.parent_path());
    auto listening = mgmt::control::ListenUnix(socket.string());
    if (!listening) throw std::runtime_error(listening.error());
    listen_fd_ = *listening;
    thread_ = std::thread([this, rules_version] {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      mgmt::control::FdTransport transport(fd);
      if (auto frame = mgmt::control::ReadFrame(transport, std::chrono::seconds(30))) {
        schema::DataplaneRequest request;
        asked_status = request.ParseFromString(*frame) && request.get_status();
        schema::DataplaneResponse response;
        response.set_ok(true);
        response.set_rules_version(rules_version);
        (void)mgmt::control::WriteFrame(transport, response.SerializeAsString());
      }
      close(fd);
    });
  }
  // Shutting the listener down wakes an accept() that no caller reached (a test that
  // failed before it asked), so a failure does not hang the suite.
  ~FakeDataplane() {
    shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    close(listen_fd_);
  }

  // Written by the fake's thread before it replies; atomic, since the reply over the
  // socket is no synchronisation the compiler or TSan knows of.
  std::atomic<bool> asked_status{false};

 private:
  int listen_fd_ = -1;
  std::thread thread_;
};

class HealthTest : public ::testing::Test {
 protected:
  void StoreRuns(uint64_t version) const {
    const fs::path dir = sim_.appliance().data_dir / "mgmt/config";
    fs::create_directories(dir);
    schema::StoreState state;
    state.set_running_version(version);
    std::ofstream(dir / "state.pb", std::ios::binary) << state.SerializeAsString();
  }
  fs::path Socket() const { return sim_.appliance().run_dir / "dataplane.sock"; }

  SimAppliance sim_;
};

TEST_F(HealthTest, WithNoConfigPushedTheDataplaneOnlyHasToAnswer) {
  std::expected<uint64_t, std::string> live;
  {
    FakeDataplane dataplane(Socket(), 0);
    live = CheckRulesLive(sim_.appliance());
    EXPECT_TRUE(dataplane.asked_status.load());
  }
  ASSERT_TRUE(live.has_value()) << live.error();
  EXPECT_EQ(*live, 0u);
}

TEST_F(HealthTest, ADataplaneBehindTheStoresRunningVersionIsNotHealthy) {
  StoreRuns(3);
  {
    FakeDataplane dataplane(Socket(), 2);
    auto live = CheckRulesLive(sim_.appliance());
    ASSERT_FALSE(live.has_value());
    EXPECT_EQ(live.error(),
              "the dataplane enforces config version 2, sbc-mgmtd's store runs version 3");
    EXPECT_TRUE(dataplane.asked_status.load());
  }
  FakeDataplane caught_up(Socket(), 3);
  auto live = CheckRulesLive(sim_.appliance());
  ASSERT_TRUE(live.has_value()) << live.error();
  EXPECT_EQ(*live, 3u);
}

TEST_F(HealthTest, ADataplaneThatDoesNotAnswerOrADamagedStoreIsNamed) {
  auto unreachable = CheckRulesLive(sim_.appliance());
  ASSERT_FALSE(unreachable.has_value());
  EXPECT_THAT(unreachable.error(), HasSubstr("dataplane unreachable"));

  const fs::path dir = sim_.appliance().data_dir / "mgmt/config";
  fs::create_directories(dir);
  std::ofstream(dir / "state.pb", std::ios::binary) << "\xff\xff not a state";
  auto damaged = CheckRulesLive(sim_.appliance());
  ASSERT_FALSE(damaged.has_value());
  EXPECT_THAT(damaged.error(), HasSubstr("state.pb is unreadable"));
}

}  // namespace
}  // namespace sbc::firmware
