// sbc-boot's supervision of the planes: it starts each daemon, restarts one that exits
// after a backoff that doubles with each crash in a row, and reports a crash loop (too
// many exits within a window) instead of hiding it: the alarm LED file, a status line,
// and an event the caller records in the boot state. A daemon in a crash loop is left
// stopped: restarting it forever would only hide the fault.
//
// Time comes from an injectable steady clock, so the tests move it instead of waiting.
// One thread (sbc-boot's main loop) calls everything here.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <expected>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sbc/mgmt/control/steady_clock.h"

namespace sbc::firmware {

struct DaemonSpec {
  std::string name;               // "sbc-mgmtd"
  std::vector<std::string> argv;  // argv[0] is the path of the slot's binary
  std::filesystem::path log;      // stdout and stderr go here (appended)
  // Checked before every start (the runtime integrity check: the binary against the
  // signed manifest). A refusal leaves the daemon stopped, reported.
  std::function<std::expected<void, std::string>()> check;
};

struct SupervisionPolicy {
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{30'000};
  // This many exits within `crash_loop_window` is a crash loop.
  int crash_loop_exits = 5;
  std::chrono::milliseconds crash_loop_window{60'000};
};

class Supervisor {
 public:
  Supervisor(std::vector<DaemonSpec> daemons, SupervisionPolicy policy,
             const mgmt::control::SteadyClock& clock);
  ~Supervisor();  // stops whatever still runs
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts every daemon. A daemon that cannot be started counts as an exit; one its
  // check refuses is left stopped. Returns a line per refusal.
  std::vector<std::string> Start();

  // Reaps daemons that exited, and starts those whose backoff has passed. Returns one
  // line per thing that happened ("sbc-dataplane exited with status 1; restart in
  // 1000 ms", "sbc-dataplane is in a crash loop: 5 exits in 60000 ms; left stopped").
  [[nodiscard]] std::vector<std::string> Poll();

  // SIGTERM to each running daemon, then waits (SIGKILL after `grace`).
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000));

  [[nodiscard]] bool AllRunning() const;
  [[nodiscard]] bool InCrashLoop() const;
  // A daemon was refused a start by its check.
  [[nodiscard]] bool Refused() const;
  // The running daemons' names and pids.
  [[nodiscard]] std::vector<std::pair<std::string, pid_t>> Running() const;
  // The pid of a running daemon, or -1.
  [[nodiscard]] pid_t Pid(const std::string& name) const;
  [[nodiscard]] int Restarts(const std::string& name) const;

 private:
  struct Daemon {
    DaemonSpec spec;
    pid_t pid = -1;
    int restarts = 0;
    int exits_in_a_row = 0;
    bool crash_loop = false;
    bool refused = false;
    mgmt::control::SteadyClock::time_point restart_at{};
    mgmt::control::SteadyClock::time_point started_at{};
    std::vector<mgmt::control::SteadyClock::time_point> exits;  // within the window
  };
  // Returns the check's refusal, or "" once started (or when fork failed).
  std::string Launch(Daemon& daemon);
  std::string OnExit(Daemon& daemon, const std::string& how);

  std::vector<Daemon> daemons_;
  SupervisionPolicy policy_;
  const mgmt::control::SteadyClock& clock_;
};

// Writes the alarm LED file ("1" on, "0" off) of the board, if it has one named
// "alarm". Returns an error line, or "".
[[nodiscard]] std::string SetAlarmLed(const std::filesystem::path& led_file, bool on);

}  // namespace sbc::firmware
