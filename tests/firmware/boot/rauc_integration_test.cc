// Updates through the real RAUC (Debian's rauc 1.8) on a sim appliance: a private
// D-Bus system bus, `rauc service` with the system.conf sbc-boot writes, our custom
// bootloader backend and pre-install handler, and bundles made by `rauc bundle`.
// RAUC mounts a bundle through a loop device, so these tests run as root.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot_fixture.h"
#include "sbc/firmware/boot_control.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/firmware/rauc.h"
#include "support/run_process.h"
#include "support/wait.h"

namespace sbc::firmware {
namespace {

using testing::BackgroundProcess;
using ::testing::HasSubstr;
using testing::ProcessResult;
using testing::RunProcess;

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteAll(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

// A self-signed CA certificate and key (openssl), as a release keyring or a stranger's.
void MakeCa(const fs::path& dir, const std::string& name) {
  const ProcessResult made =
      RunProcess({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", (dir / (name + ".key")).string(),
                  "-out", (dir / (name + ".crt")).string(), "-days", "30", "-subj", "/CN=" + name,
                  "-addext", "basicConstraints=critical,CA:TRUE"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
}

class RaucTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || access("/dev/loop-control", W_OK) != 0)
      GTEST_SKIP() << "RAUC mounts bundles on loop devices: needs root and /dev/loop-control";
    ASSERT_EQ(access("/usr/bin/rauc", X_OK), 0) << "rauc is not installed (tools/setup)";
    MakeCa(sim_.dir(), "release");
    MakeCa(sim_.dir(), "stranger");
    fs::copy_file(sim_.dir() / "release.crt", sim_.appliance().key_store / kRaucKeyringFile);
    conf_dir_ = sim_.dir() / "rauc-conf";
    const ProcessResult config = Boot({"rauc-config", "--out", conf_dir_.string()});
    ASSERT_EQ(config.exit_code, 0) << config.err;
    StartBus();
  }

  void TearDown() override {
    service_.reset();
    bus_.reset();
  }

  ProcessResult Boot(std::vector<std::string> args) const {
    std::vector<std::string> argv = {SBC_BOOT_BIN, "--board", sim_.board_file().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProcess(argv);
  }

  void StartBus() {
    const fs::path socket = sim_.dir() / "system_bus_socket";
    WriteAll(sim_.dir() / "bus.conf",
             "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
             " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
             "<busconfig><type>session</type><listen>unix:path=" +
                 socket.string() +
                 "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
                 "<allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/>"
                 "<allow own=\"*\"/></policy></busconfig>\n");
    bus_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/dbus-daemon", "--nofork",
                                 "--config-file=" + (sim_.dir() / "bus.conf").string()},
        (sim_.dir() / "bus.log").string());
    ASSERT_TRUE(testing::WaitUntil([&] { return fs::exists(socket); })) << bus_->Log();
    setenv("DBUS_SYSTEM_BUS_ADDRESS", ("unix:path=" + socket.string()).c_str(), 1);
  }

  // `rauc service` as the slot `booted` booted (a rack board's kernel command line says
  // rauc.slot=; the sim has none), ready once it answers `rauc status`.
  void StartService(const std::string& booted, const fs::path& conf = {}) {
    service_.reset();
    service_ = std::make_unique<BackgroundProcess>(
        std::vector<std::string>{"/usr/bin/rauc", "service", "--conf",
                                 (conf.empty() ? conf_dir_ / "system.conf" : conf).string(),
                                 "--override-boot-slot=" + booted},
        (sim_.dir() / ("rauc-" + booted + ".log")).string());
    ASSERT_TRUE(testing::WaitUntil([&] {
      return RunProcess({"/usr/bin/rauc", "status"}, 60).exit_code == 0;
    })) << service_->Log();
  }

  // A bundle of `image` signed by `ca` (release or stranger).
  fs::path Bundle(const std::string& name, const std::string& image,
                  const std::string& ca = "release") const {
    const fs::path content = sim_.dir() / ("bundle-" + name);
    fs::create_directories(content);
    WriteAll(content / kBundleImageName, image);
    WriteAll(content / "manifest.raucm",
             "[update]\ncompatible=sbc-sim\nversion=" + name +
                 "\n\n[bundle]\nformat=plain\n\n[image.rootfs]\nfilename=" + kBundleImageName +
                 "\n");
    const fs::path bundle = sim_.dir() / (name + ".raucb");
    const ProcessResult made = RunProcess(
        {"/usr/bin/rauc", "bundle", "--cert", (sim_.dir() / (ca + ".crt")).string(), "--key",
         (sim_.dir() / (ca + ".key")).string(), content.string(), bundle.string()});
    EXPECT_EQ(made.exit_code, 0) << made.err;
    return bundle;
  }

  ProcessResult Install(const fs::path& bundle) const {
    return RunProcess({"/usr/bin/rauc", "install", bundle.string()});
  }

  // Flashes v1 (index 1) into A and boots it; RAUC runs as booted from A.
  void BootV1() {
    const fs::path v1 = sim_.dir() / "v1.img";
    WriteAll(v1, sim_.Image("v1", 1));
    ASSERT_EQ(Boot({"flash", "--slot", "A", "--image", v1.string()}).exit_code, 0);
    const ProcessResult booted = Boot({"boot", "--verify-only"});
    ASSERT_EQ(booted.exit_code, 0) << booted.err;
    ASSERT_THAT(booted.out, HasSubstr("booting slot A: image v1"));
    StartService("A");
    const ProcessResult good = RunProcess({"/usr/bin/rauc", "status", "mark-good"});
    ASSERT_EQ(good.exit_code, 0) << good.err << good.out;
  }

  std::string SlotBytes(std::string_view slot) const {
    return ReadAll(SlotDevice(sim_.appliance(), slot));
  }

  SimAppliance sim_;
  fs::path conf_dir_;
  std::unique_ptr<BackgroundProcess> bus_;
  std::unique_ptr<BackgroundProcess> service_;
};

TEST_F(RaucTest, AnUpdateInstallsToTheOtherSlotBootsAndIsCommittedAfterItsHealthCheck) {
  BootV1();
  const ProcessResult installed = Install(Bundle("v2", sim_.Image("v2", 2)));
  ASSERT_EQ(installed.exit_code, 0) << installed.err << installed.out;
  EXPECT_THAT(service_->Log(), HasSubstr("image v2 (build 2, rollback index 2) verified"));

  // The "reboot": sbc-boot takes the new primary; RAUC then runs as booted from B.
  const ProcessResult booted = Boot({"boot", "--verify-only"});
  ASSERT_EQ(booted.exit_code, 0) << booted.err;
  EXPECT_THAT(booted.out, HasSubstr("booting slot B: image v2"));
  StartService("B");
  const ProcessResult good = RunProcess({"/usr/bin/rauc", "status", "mark-good"});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(ReadAll(sim_.appliance().key_store / drivers::kRollbackIndexFile), "2\n");
  const ProcessResult state = Boot({"state"});
  EXPECT_THAT(state.out, HasSubstr("slot B: good, 3 attempt(s) left"));
  EXPECT_THAT(state.out, HasSubstr("marked good: image v2 (rollback index 2)"));
}

TEST_F(RaucTest, EveryRefusedBundleLeavesTheSlotsAndTheBootStateAsTheyWere) {
  BootV1();
  // Commit v2 (index 2) first, so an index-1 image is a rollback.
  ASSERT_EQ(Install(Bundle("v2", sim_.Image("v2", 2))).exit_code, 0);
  ASSERT_EQ(Boot({"boot", "--verify-only"}).exit_code, 0);
  StartService("B");
  ASSERT_EQ(RunProcess({"/usr/bin/rauc", "status", "mark-good"}).exit_code, 0);

  std::string tampered = sim_.Image("v4", 4);
  tampered[tampered.size() - 2] ^= 0x01;
  const testing::FirmwareSigners stranger_keys(1, 1, schema::DEVELOPMENT);
  const fs::path other_root = sim_.dir() / "stranger-tree";
  testing::WriteSampleTree(other_root, "evil");
  const struct {
    std::string name;
    fs::path bundle;
    std::string says;
  } cases[] = {
      {"cms-by-stranger", Bundle("cms", sim_.Image("v3", 3), "stranger"), "signature"},
      {"lower-index", Bundle("old", sim_.Image("v1b", 1)), "rollback_index_too_low"},
      {"wrong-board", Bundle("rack", sim_.Image("v5", 5, {"rack-1u-e810"})), "wrong_board"},
      {"tampered-file", Bundle("tampered", tampered), "file_changed"},
      {"unknown-release-key",
       Bundle("unknown", testing::MakeImage(other_root, {.version = 6, .rollback_index = 6},
                                            {&stranger_keys.firmware_key(0)})),
       "unknown_key"},
  };
  const std::string slot_a = SlotBytes(kSlotA);
  const std::string slot_b = SlotBytes(kSlotB);
  const std::string state_before = Boot({"state"}).out;
  for (const auto& c : cases) {
    const ProcessResult refused = Install(c.bundle);
    EXPECT_NE(refused.exit_code, 0) << c.name;
    EXPECT_THAT(refused.out + refused.err + service_->Log(), HasSubstr(c.says)) << c.name;
    EXPECT_EQ(SlotBytes(kSlotA) == slot_a, true) << c.name << ": slot A was written";
    EXPECT_EQ(SlotBytes(kSlotB) == slot_b, true) << c.name << ": the running slot was written";
  }
  // No refused install marked a slot, made one primary or took an attempt.
  EXPECT_EQ(Boot({"state"}).out, state_before);
  EXPECT_THAT(Boot({"boot", "--verify-only"}).out, HasSubstr("booting slot B: image v2"));
}

// An update uploaded over the control API as a RAUC bundle: sbc-boot has RAUC install
// it (CMS signature, our pre-install check, RAUC's write and marking), and the written
// slot waits for the operator's activate instead of becoming primary by itself. A
// bundle RAUC refuses, or a RAUC service that takes the other slot for the booted one,
// leaves the slots and the boot state as they were.
TEST_F(RaucTest, ABundleInstalledOverTheControlApiIsWrittenByRaucAndWaitsForActivate) {
  BootV1();
  const TrustContext trust = sim_.Trust();
  auto booted = BootSlot(sim_.appliance(), trust, 1'800'000'000);
  ASSERT_TRUE(booted.has_value()) << booted.error();
  ASSERT_EQ(booted->slot, kSlotA);
  int kicks = 0;
  RunningSlot running{*booted, "healthy", true};
  running.keep_alive = [&] { ++kicks; };
  auto ask_install = [&](const fs::path& bundle) {
    schema::BootRequest request;
    request.set_install(bundle.string());
    return HandleBootRequest(sim_.appliance(), trust, running, request, 1'800'000'100);
  };
  ASSERT_EQ(RunProcess({"/usr/bin/rauc", "status", "mark-good"}).exit_code, 0);

  // Refused by RAUC's CMS check: nothing written, nothing held, nothing made primary.
  const std::string slot_b = SlotBytes(kSlotB);
  const std::string primary_before = Primary(*LoadBootState(sim_.appliance().boot_dir));
  const BootReply stranger = ask_install(Bundle("cms", sim_.Image("v3", 3), "stranger"));
  EXPECT_FALSE(stranger.response.ok());
  EXPECT_THAT(stranger.response.error(),
              HasSubstr("install refused by RAUC: signature verification failed"));
  EXPECT_THAT(stranger.response.error(), HasSubstr("slot B untouched"));
  EXPECT_EQ(SlotBytes(kSlotB), slot_b);
  auto state = LoadBootState(sim_.appliance().boot_dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->held_activation(), "");
  EXPECT_EQ(Primary(*state), primary_before);

  // Written by RAUC, held: A stays primary and B has no attempts until activated.
  const BootReply installed = ask_install(Bundle("v2", sim_.Image("v2", 2)));
  ASSERT_TRUE(installed.response.ok()) << installed.response.error();
  EXPECT_THAT(installed.response.detail(),
              HasSubstr("installed image v2 (build 2, rollback index 2) to slot B through RAUC"));
  EXPECT_THAT(service_->Log(), HasSubstr("image v2 (build 2, rollback index 2) verified"));
  EXPECT_GT(kicks, 0) << "the watchdog is kicked as RAUC starts (and every 500 ms)";
  state = LoadBootState(sim_.appliance().boot_dir);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->held_activation(), "");
  EXPECT_EQ(Primary(*state), "A");
  EXPECT_FALSE(IsGood(*state, kSlotB));
  std::string events;
  for (const schema::BootEvent& event : state->events()) events += event.what() + "\n";
  EXPECT_THAT(events, HasSubstr("marked bad\nwritten by RAUC"));  // before RAUC wrote B
  EXPECT_THAT(events, HasSubstr("written by RAUC; held for activate"));
  EXPECT_THAT(events, HasSubstr("installed image v2 (build 2, rollback index 2) through RAUC"));
  EXPECT_THAT(Boot({"boot", "--verify-only"}).out, HasSubstr("booting slot A: image v1"));

  schema::BootRequest activate;
  activate.set_activate(true);
  const BootReply activated =
      HandleBootRequest(sim_.appliance(), trust, running, activate, 1'800'000'200);
  ASSERT_TRUE(activated.response.ok()) << activated.response.error();
  EXPECT_TRUE(activated.reboot);
  state = LoadBootState(sim_.appliance().boot_dir);
  EXPECT_EQ(Primary(*state), "B");
  EXPECT_EQ(state->trial(), "B");

  // A RAUC service that takes B for the booted slot would write A, which runs.
  StartService("B");
  const std::string slot_a = SlotBytes(kSlotA);
  const BootReply confused = ask_install(Bundle("v4", sim_.Image("v4", 4)));
  EXPECT_FALSE(confused.response.ok());
  EXPECT_THAT(confused.response.error(),
              HasSubstr("the RAUC service takes slot B for the booted one, sbc-boot runs slot A"));
  EXPECT_EQ(SlotBytes(kSlotA), slot_a);
}

// RAUC (and its handlers) killed at counted points of an install: before any slot is
// written (in the pre-install check) and after the slot is written but before it is
// made primary. After the restart the running slot boots, the state says the target was
// marked bad, and the install goes through when retried.
TEST_F(RaucTest, APowerCutDuringAnInstallLeavesTheRunningSlotToBoot) {
  BootV1();
  const fs::path bundle = Bundle("v2", sim_.Image("v2", 2));
  for (const std::string& kill_at : {std::string("pre-install"), std::string("set-primary")}) {
    SCOPED_TRACE(kill_at);
    const fs::path marker = sim_.dir() / ("killed-at-" + kill_at);
    // Handlers that stop at the kill point, say so, and wait there to be killed.
    const std::string stop = "echo $$ > '" + marker.string() + "'; exec sleep 100000\n";
    WriteAll(conf_dir_ / "cut-backend",
             "#!/bin/sh\n[ \"$1\" = '" + kill_at + "' ] && { " + stop + "}\nexec '" +
                 (conf_dir_ / "sbc-rauc-backend").string() + "' \"$@\"\n");
    WriteAll(conf_dir_ / "cut-pre-install",
             "#!/bin/sh\n[ 'pre-install' = '" + kill_at + "' ] && { " + stop + "}\nexec '" +
                 (conf_dir_ / "sbc-rauc-pre-install").string() + "'\n");
    chmod((conf_dir_ / "cut-backend").c_str(), 0700);
    chmod((conf_dir_ / "cut-pre-install").c_str(), 0700);
    std::string conf = ReadAll(conf_dir_ / "system.conf");
    conf = std::regex_replace(conf, std::regex("sbc-rauc-backend\n"), "cut-backend\n");
    conf = std::regex_replace(conf, std::regex("sbc-rauc-pre-install\n"), "cut-pre-install\n");
    WriteAll(conf_dir_ / "cut.conf", conf);
    StartService("A", conf_dir_ / "cut.conf");

    const std::string slot_a = SlotBytes(kSlotA);
    BackgroundProcess install({"/usr/bin/rauc", "install", bundle.string()},
                              (sim_.dir() / ("install-" + kill_at + ".log")).string());
    ASSERT_TRUE(testing::WaitUntil([&] { return !ReadAll(marker).empty(); })) << service_->Log();
    // The power cut: RAUC and the handler it is running, at once.
    kill(service_->pid(), SIGKILL);
    kill(std::stoi(ReadAll(marker)), SIGKILL);
    (void)service_->Stop(SIGKILL);
    (void)install.Stop(SIGKILL);
    service_.reset();

    EXPECT_EQ(SlotBytes(kSlotA), slot_a) << "the running slot was touched";
    const ProcessResult booted = Boot({"boot", "--verify-only"});
    ASSERT_EQ(booted.exit_code, 0) << booted.err;
    EXPECT_THAT(booted.out, HasSubstr("booting slot A: image v1"));
    const ProcessResult state = Boot({"state"});
    EXPECT_THAT(state.out, HasSubstr("slot B: bad"));
    if (kill_at == "set-primary") {
      EXPECT_THAT(state.out, HasSubstr("B marked bad"));
    }
    StartService("A");
    ASSERT_EQ(RunProcess({"/usr/bin/rauc", "status", "mark-good"}).exit_code, 0);
  }
  // The retried install goes through.
  const ProcessResult installed = Install(bundle);
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  EXPECT_THAT(Boot({"boot", "--verify-only"}).out, HasSubstr("booting slot B: image v2"));
}

}  // namespace
}  // namespace sbc::firmware
