// sbc-pktgen as built, two processes over real net_memif shared-memory ports: a
// generator and a reflector, or a sink (what the benches check the generator's own
// ceiling against). What is sent at a rate comes back whole, with latencies and the
// generator's load; the search finds the top of a bracket the pair can carry; a sink
// takes every frame and none is expected back; a port whose other side is missing is
// refused, saying so.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <regex>
#include <string>

#include "support/run_process.h"

namespace sbc::testing {
namespace {

using ::testing::HasSubstr;

class PktgenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tag_ = std::to_string(getpid());
    // Rings of 4,096: tens of milliseconds at these rates, for a machine busy with
    // other tests.
    a_ = "net_memif0,rsize=12,socket=/sbc-pktgen-test-" + tag_ + "/a";
    b_ = "net_memif1,rsize=12,socket=/sbc-pktgen-test-" + tag_ + "/b";
    log_ = ::testing::TempDir() + "peer-" + tag_ + ".log";
    reflector_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{SBC_PKTGEN_BIN, PeerMode(), "--port", a_ + ",role=server",
                                 "--port", b_ + ",role=server", "--lcore", "1", "--file-prefix",
                                 "pktgen-test-r" + tag_, "--seconds", "0", "--memory-mb", "256"},
        log_);
    ASSERT_THAT(reflector_->WaitForLog("ports started"), HasSubstr("ports started"));
  }
  void TearDown() override {
    if (reflector_ != nullptr) (void)StopPeer();
    unlink(log_.c_str());
  }
  // The process on the other side of the ports: "reflect" or "sink".
  virtual std::string PeerMode() const { return "reflect"; }
  // Stops it; what it wrote. It must end by itself on SIGTERM, not die of a signal.
  std::string StopPeer() {
    const ProcessResult r = reflector_->Stop(SIGTERM);
    EXPECT_EQ(r.signal, 0) << "the peer died of signal " << r.signal << ":\n" << r.out;
    EXPECT_EQ(r.exit_code, 0) << r.out;
    reflector_.reset();
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ProcessResult Generator(std::vector<std::string> args) {
    std::vector<std::string> argv = {SBC_PKTGEN_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const std::string& extra : std::vector<std::string>{
             "--port", a_ + ",role=client", "--port", b_ + ",role=client", "--lcore", "0",
             "--file-prefix", "pktgen-test-g" + tag_, "--memory-mb", "512"})
      argv.push_back(extra);
    // What the tool counts is checked here, not how fast this machine is: a trial may
    // run as late as it must to send everything, and stragglers get a second.
    for (const std::string& extra :
         std::vector<std::string>{"--late-slack", "100", "--drain-seconds", "1"})
      argv.push_back(extra);
    return RunProcess(argv);
  }
  static uint64_t Field(const std::string& json, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(json, m, std::regex("\"" + name + "\":([0-9.e+]+)"))) return 0;
    return static_cast<uint64_t>(std::stod(m[1]));
  }

  std::string tag_, a_, b_, log_;
  std::unique_ptr<BackgroundProcess> reflector_;
};

TEST_F(PktgenTest, WhatIsSentAtARateComesBackWholeWithItsLatency) {
  const ProcessResult r =
      Generator({"run", "--pps", "50000", "--seconds", "1", "--denied", "0", "--malformed", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Field(r.out, "sent"), 50000u) << r.out;
  EXPECT_EQ(Field(r.out, "expected"), 50000u);
  EXPECT_EQ(Field(r.out, "received"), 50000u) << "a reflector loses nothing";
  EXPECT_THAT(r.out, HasSubstr("\"generator_short\":false"));
  EXPECT_GT(Field(r.out, "max"), 0u) << "latency measured";
  std::smatch busy;
  ASSERT_TRUE(std::regex_search(r.out, busy, std::regex("\"generator_busy\":([0-9.]+)"))) << r.out;
  // A share, measured: how large depends on this machine (its figures are the benches').
  EXPECT_GT(std::stod(busy[1]), 0) << "sending and receiving take some of its time";
  EXPECT_LE(std::stod(busy[1]), 1);
}

TEST_F(PktgenTest, OnlyAllowedFramesAreExpectedBack) {
  // Only the allowed frames (89%) are expected back; the rest are told apart when they
  // come back anyway.
  const ProcessResult r = Generator(
      {"run", "--pps", "50000", "--seconds", "1", "--denied", "0.1", "--malformed", "0.01"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Field(r.out, "sent"), 50000u);
  EXPECT_NEAR(static_cast<double>(Field(r.out, "expected")), 44500, 100) << r.out;
  EXPECT_EQ(Field(r.out, "received"), Field(r.out, "expected"));
  EXPECT_EQ(Field(r.out, "unexpected"), 50000u - Field(r.out, "expected"))
      << "a reflector returns the denied and malformed frames too: counted apart, as an appliance "
         "must not";
}

TEST_F(PktgenTest, TheSearchReportsTheTopOfABracketThePairCarries) {
  const ProcessResult r =
      Generator({"search", "--min-pps", "5000", "--max-pps", "50000", "--trial-seconds", "0.5",
                 "--repeats", "1", "--denied", "0", "--malformed", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"throughput_pps\":{\"median\":50000,")) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"latency_trial\""));
}

TEST_F(PktgenTest, SrtpProtectedAheadGoesOutInOrderAndDecrypts) {
  // The phones' SRTP, protected with libsrtp2 before the trial and replayed round robin
  // over the calls: through the reflector every packet comes back, and libsrtp2 (a
  // receiver with its replay window, under each phone's key) takes every one.
  const ProcessResult r =
      Generator({"run", "--profile", "media", "--media-path", "srtp-to-rtp", "--made-up-calls",
                 "--calls", "10", "--pps", "20000", "--seconds", "1", "--check-every", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("protecting 20000 packets with libsrtp2"));
  EXPECT_EQ(Field(r.out, "sent"), 20000u) << r.out;
  EXPECT_EQ(Field(r.out, "received"), 20000u);
  EXPECT_EQ(Field(r.out, "foreign"), 0u) << "each packet's call and sequence number were known";
  EXPECT_EQ(Field(r.out, "verified"), 20000u) << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"failed\":0}"));
}

class PktgenSinkTest : public PktgenTest {
 protected:
  std::string PeerMode() const override { return "sink"; }
};

TEST_F(PktgenSinkTest, ASinkTakesEveryFrameAndNoneIsExpectedBack) {
  const ProcessResult r = Generator({"run", "--into-sink", "--pps", "50000", "--seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Field(r.out, "sent"), 50000u) << r.out;
  EXPECT_EQ(Field(r.out, "expected"), 0u) << "nothing comes back from a sink";
  EXPECT_EQ(Field(r.out, "received"), 0u);
  EXPECT_THAT(r.out, HasSubstr("\"generator_short\":false"));
  EXPECT_THAT(StopPeer(), HasSubstr("sbc-pktgen sink: 50000 frames taken"));
}

TEST(PktgenAloneTest, APortWhoseOtherSideIsMissingIsRefusedWithTheReason) {
  const std::string tag = std::to_string(getpid());
  const ProcessResult r =
      RunProcess({SBC_PKTGEN_BIN, "run", "--port", "net_memif0,role=client,socket=/sbc-none-" + tag,
                  "--port", "net_memif1,role=client,socket=/sbc-none2-" + tag, "--file-prefix",
                  "pktgen-test-n" + tag, "--memory-mb", "256"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(
      r.err,
      HasSubstr("): cannot be configured and started (a memif client needs its server running)"));
}

}  // namespace
}  // namespace sbc::testing
