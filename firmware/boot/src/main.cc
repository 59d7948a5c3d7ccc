// sbc-boot: the appliance's boot and update glue.
//
//   sbc-boot --board B flash --slot A --image IMG    factory flashing: verify, write, boot state
//   sbc-boot --board B boot [--verify-only]          choose a slot, verify every file, unpack,
//                                                    then run and supervise both planes
//                                                    (SIGUSR1: run the integrity check now)
//   sbc-boot --board B power-on -- [boot options]    the sim board: boots, reboots, watchdog resets
//   sbc-boot --board B mark-good                     after the health check (the booted slot)
//   sbc-boot --board B state                         the boot state and its last events
//   sbc-boot --board B rauc-config --out DIR         RAUC's system.conf and handler scripts
//   sbc-boot --board B bootloader OP [ARGS]          RAUC's custom bootloader backend
//   sbc-boot --board B pre-install                   RAUC's pre-install handler
//
// Exit codes: 0 done, 1 refused (an image, a slot), 2 usage or unreadable input,
// 3 reboot: the booted slot never became healthy, or a firmware request (activate,
// revert over the control API) chose the slot to boot next (whatever runs sbc-boot starts it
// again, which takes the next boot attempt: systemd on a rack board, tools/run on sim).
#include <sysexits.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <iostream>

#include "sbc/drivers/watchdog.h"
#include "sbc/firmware/boot.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/firmware/rauc.h"
#include "sbc/firmware/run.h"

namespace {

using namespace sbc::firmware;

constexpr int kExitRefused = 1;
constexpr int kExitInput = 2;
constexpr int kExitReboot = 3;

std::atomic<bool> stop_requested{false};
std::atomic<bool> verify_requested{false};
void OnStopSignal(int /*signal*/) { stop_requested.store(true); }
void OnVerifySignal(int /*signal*/) { verify_requested.store(true); }

int Fail(int code, const std::string& line) {
  std::cerr << "sbc-boot: " << line << std::endl;
  return code;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

int Flash(const Appliance& appliance, const std::string& slot, const std::string& image_file) {
  if (!IsSlotName(slot)) return Fail(kExitInput, "--slot must be A or B");
  auto trust = LoadTrust(appliance);
  if (!trust) return Fail(kExitInput, trust.error());
  auto image = ReadImageFile(image_file);
  if (!image) return Fail(kExitInput, image.error());
  auto flashed = FlashSlot(appliance, *trust, slot, *image);
  if (!flashed) return Fail(kExitRefused, image_file + ": " + flashed.error());
  // A freshly flashed box boots the flashed slot; a second flash (the other slot, for
  // a spare image) leaves the order as it was.
  auto state = LoadBootState(appliance.boot_dir);
  sbc::schema::BootState next = state ? *state : InitialBootState(slot, appliance.boot_attempts);
  if (state) SetPrimary(next, slot, appliance.boot_attempts);
  RecordEvent(next, Now(), slot, "flashed image " + flashed->manifest.version_name());
  std::error_code ec;
  std::filesystem::create_directories(appliance.boot_dir, ec);
  if (auto saved = SaveBootState(appliance.boot_dir, next); !saved)
    return Fail(kExitInput, "boot state: " + saved.error());
  std::cout << "slot " << slot << ": image " << flashed->manifest.version_name() << " (build "
            << flashed->manifest.version() << ") verified and written" << std::endl;
  return 0;
}

int Boot(const Appliance& appliance, bool verify_only, const RunOptions& options) {
  auto trust = LoadTrust(appliance);
  if (!trust) return Fail(kExitInput, trust.error());
  auto booted = BootSlot(appliance, *trust, Now());
  if (!booted) return Fail(kExitRefused, booted.error());
  for (const std::string& refusal : booted->refusals) std::cerr << "sbc-boot: " << refusal << "\n";
  std::cout << "booting slot " << booted->slot << ": image "
            << booted->verified.manifest.version_name() << " (build "
            << booted->verified.manifest.version() << "), "
            << booted->verified.manifest.files_size() << " files verified" << std::endl;
  if (verify_only) return 0;
  auto watchdog = sbc::drivers::OpenWatchdog(appliance.board.watchdog(), appliance.data_dir);
  if (!watchdog) return Fail(kExitInput, "watchdog: " + watchdog.error());
  RunOptions run = options;
  run.watchdog = watchdog->get();
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  struct sigaction verify {};
  verify.sa_handler = OnVerifySignal;
  sigaction(SIGUSR1, &verify, nullptr);
  const RunEnd end =
      RunBootedSlot(appliance, *trust, *booted, run, stop_requested, verify_requested);
  if (end == RunEnd::kRebootRequested) {
    std::cout << "sbc-boot: rebooting into the slot the firmware request chose" << std::endl;
    return kExitReboot;
  }
  if (end == RunEnd::kRebootNeeded) {
    std::cout << "sbc-boot: slot " << booted->slot << " did not become healthy; rebooting"
              << std::endl;
    return kExitReboot;
  }
  std::cout << "sbc-boot: stopped" << std::endl;
  return 0;
}

// The sim board's power supply and watchdog timer: runs `sbc-boot boot` with `boot_args`,
// starts it again when it asks for a reboot (exit 3), and resets it (SIGKILL, which
// takes its daemons with it) when the watchdog file has not been kicked within the
// board's timeout. A reset is a failed boot: it costs the booted slot one more attempt,
// so resets that repeat before the slot proves healthy end in the other slot.
int PowerOn(const Appliance& appliance, const std::string& board_file,
            const std::vector<std::string>& boot_args) {
  if (!appliance.board.watchdog().file_backed())
    return Fail(kExitInput, "power-on simulates a board: this board's watchdog is a device");
  const std::filesystem::path dog =
      sbc::board::ResolveStoragePath(appliance.board, appliance.board.watchdog().path());
  const uint64_t timeout_ms = uint64_t{appliance.board.watchdog().timeout_s()} * 1000;
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  for (int boots = 1;; ++boots) {
    std::error_code ec;
    std::filesystem::remove(dog, ec);  // disarmed until the new boot arms it
    std::vector<std::string> argv = {self, "--board", board_file, "boot"};
    argv.insert(argv.end(), boot_args.begin(), boot_args.end());
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (std::string& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    std::cout << "sim board: power on (boot " << boots << ")" << std::endl;
    const pid_t child = fork();
    if (child == 0) {
      execv(args[0], args.data());
      _exit(127);
    }
    if (child < 0) return Fail(kExitInput, "fork failed");
    int status = 0;
    bool reset = false;
    for (;;) {
      if (waitpid(child, &status, WNOHANG) == child) break;
      if (stop_requested.load()) {
        kill(child, SIGTERM);
        waitpid(child, &status, 0);
        std::cout << "sim board: power off" << std::endl;
        return 0;
      }
      auto silence = sbc::drivers::FileWatchdogSilenceMs(dog);
      const uint64_t silent_ms = silence ? silence->value_or(0) : 0;
      if (silent_ms > timeout_ms) {
        std::cout << "sim board: watchdog reset: not kicked for " << silent_ms << " ms"
                  << std::endl;
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        reset = true;
        break;
      }
      usleep(50'000);
    }
    if (reset) {
      if (auto state = LoadBootState(appliance.boot_dir)) {
        const std::string slot = state->booted();
        if (!slot.empty()) {
          auto left = state->attempts_left().find(slot);
          if (left != state->attempts_left().end() && left->second > 0)
            --(*state->mutable_attempts_left())[slot];
        }
        RecordEvent(*state, Now(), slot, "watchdog reset (counted as a failed boot)",
                    EventKind::kAlarm);
        if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
          std::cerr << "sim board: boot state: " << saved.error() << std::endl;
      }
      continue;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == kExitReboot) continue;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitRefused;
    std::cout << "sim board: sbc-boot ended (" << code << "); power off" << std::endl;
    return code;
  }
}

int MarkBootedGood(const Appliance& appliance) {
  auto trust = LoadTrust(appliance);
  if (!trust) return Fail(kExitInput, trust.error());
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return Fail(kExitInput, state.error());
  if (state->booted().empty()) return Fail(kExitRefused, "no slot has booted to mark good");
  if (auto ok = MarkGood(appliance, *trust, state->booted(), Now()); !ok)
    return Fail(kExitRefused, ok.error());
  std::cout << "slot " << state->booted() << " marked good" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"sbc-boot: A/B boot, image verification and RAUC glue of the appliance"};
  app.require_subcommand(1);
  std::string board_file;
  app.add_option("--board", board_file, "board file (text format)")->required();

  std::string flash_slot, flash_image;
  auto* flash = app.add_subcommand("flash", "verify an image and write it to a slot");
  flash->add_option("--slot", flash_slot, "A or B")->required();
  flash->add_option("--image", flash_image, "firmware image")->required();
  auto* boot = app.add_subcommand("boot", "choose a slot, verify it, unpack it and run it");
  bool verify_only = false;
  boot->add_flag("--verify-only", verify_only, "stop after the slot is verified and unpacked");
  RunOptions run;
  int first_backoff_ms = 500, crash_loop_exits = 5, integrity_interval_s = 300;
  int worker_stall_ms = 5000, mgmtd_stall_ms = 30'000;
  boot->add_option("--integrity-interval-s", integrity_interval_s,
                   "period of the runtime integrity check (SIGUSR1: at once)")
      ->capture_default_str();
  boot->add_option("--first-backoff-ms", first_backoff_ms, "restart backoff after a first crash")
      ->capture_default_str();
  boot->add_option("--crash-loop-exits", crash_loop_exits,
                   "exits within 60 s that are a crash loop")
      ->capture_default_str();
  boot->add_option("--worker-stall-ms", worker_stall_ms,
                   "a dataplane worker not polling for this long is hung: the watchdog is "
                   "no longer kicked")
      ->capture_default_str()
      ->check(CLI::Range(100, 600'000));
  boot->add_option("--mgmtd-stall-ms", mgmtd_stall_ms,
                   "sbc-mgmtd's main loop not ticking for this long is wedged: the watchdog is "
                   "no longer kicked")
      ->capture_default_str()
      ->check(CLI::Range(1000, 600'000));
  boot->add_option("--mgmtd-arg", run.mgmtd_args, "an argument for sbc-mgmtd (repeatable)");
  boot->add_option("--dataplane-arg", run.dataplane_args,
                   "an argument for sbc-dataplane (repeatable)");
  auto* mark_good = app.add_subcommand("mark-good", "mark the booted slot good");
  auto* power_on = app.add_subcommand(
      "power-on", "the sim board: run boot (with the arguments after --), reboot and reset it");
  std::vector<std::string> power_on_args;
  power_on->add_option("boot-args", power_on_args, "options for boot, after --");
  auto* state = app.add_subcommand("state", "print the boot state");
  std::string rauc_out;
  auto* rauc_config = app.add_subcommand("rauc-config", "write RAUC's system.conf and handlers");
  rauc_config->add_option("--out", rauc_out, "directory")->required();
  std::vector<std::string> backend_args;
  auto* bootloader = app.add_subcommand("bootloader", "RAUC's custom bootloader backend");
  bootloader
      ->add_option("args", backend_args,
                   "get-primary | set-primary S | get-state S | "
                   "set-state S good|bad")
      ->required();
  auto* pre_install = app.add_subcommand("pre-install", "RAUC's pre-install handler");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitInput;
  }
  auto appliance = LoadAppliance(board_file);
  if (!appliance) return Fail(kExitInput, "board " + board_file + ": " + appliance.error());

  if (*flash) return Flash(*appliance, flash_slot, flash_image);
  run.policy.first_backoff = std::chrono::milliseconds(first_backoff_ms);
  run.policy.crash_loop_exits = crash_loop_exits;
  run.integrity_interval = std::chrono::seconds(integrity_interval_s);
  run.worker_stall_limit = std::chrono::milliseconds(worker_stall_ms);
  run.mgmtd_stall_limit = std::chrono::milliseconds(mgmtd_stall_ms);
  if (*boot) return Boot(*appliance, verify_only, run);
  if (*power_on) return PowerOn(*appliance, board_file, power_on_args);
  if (*mark_good) return MarkBootedGood(*appliance);
  if (*state) {
    auto current = LoadBootState(appliance->boot_dir);
    if (!current) return Fail(kExitInput, current.error());
    std::cout << DescribeBootState(*current);
    return 0;
  }
  if (*rauc_config) {
    if (auto ok =
            WriteRaucConfig(*appliance, rauc_out, std::filesystem::read_symlink("/proc/self/exe"));
        !ok)
      return Fail(kExitInput, ok.error());
    return 0;
  }
  if (*bootloader) {
    auto out = RunBootloaderBackend(*appliance, backend_args, Now());
    if (!out) return Fail(kExitRefused, out.error());
    std::cout << *out << std::flush;
    return 0;
  }
  if (*pre_install) {
    const char* mount = std::getenv("RAUC_BUNDLE_MOUNT_POINT");
    if (mount == nullptr)
      return Fail(kExitInput, "pre-install: RAUC_BUNDLE_MOUNT_POINT is not set");
    auto checked = CheckBundle(*appliance, mount);
    if (!checked) return Fail(kExitRefused, checked.error());
    std::cout << "sbc-boot: " << *checked << std::endl;
    return 0;
  }
  return kExitInput;
} catch (const std::exception& e) {
  std::cerr << "sbc-boot: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
