#include "sbc/firmware/run.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iostream>
#include <thread>

#include "sbc/firmware/boot_control.h"
#include "sbc/firmware/boot_state.h"
#include "sbc/firmware/integrity.h"
#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/control/framing.h"
#include "sbc/mgmt/control/unix_socket.h"
#include "sbc/mgmt/service/dataplane_link.h"
#include "sbc/mgmt/store/config_store.h"

namespace sbc::firmware {

namespace fs = std::filesystem;

namespace {

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string LiveText(uint64_t version) {
  return version == 0 ? "no config pushed yet"
                      : "config version " + std::to_string(version) + " live in the dataplane";
}

fs::path AlarmLed(const Appliance& appliance) {
  for (const schema::Led& led : appliance.board.leds())
    if (led.name() == "alarm") return board::ResolveStoragePath(appliance.board, led.path());
  return {};
}

// A fault of the running slot, in the boot state (and from there the audit log).
void RecordAlarm(const Appliance& appliance, std::string_view slot, const std::string& what) {
  auto state = LoadBootState(appliance.boot_dir);
  if (!state) return;
  RecordEvent(*state, Now(), slot, what, EventKind::kAlarm);
  if (auto saved = SaveBootState(appliance.boot_dir, *state); !saved)
    std::cerr << "sbc-boot: boot state: " << saved.error() << std::endl;
}

void WriteStatus(const Appliance& appliance, const BootedSlot& booted, const std::string& health) {
  const std::string text = "slot: " + booted.slot +
                           "\nimage: " + booted.verified.manifest.version_name() +
                           "\nbuild: " + std::to_string(booted.verified.manifest.version()) +
                           "\nhealth: " + health + "\n";
  if (auto ok = mgmt::base::WriteFileAtomically(appliance.run_dir, "boot-status", text); !ok)
    std::cerr << "sbc-boot: " << ok.error() << std::endl;
}

std::vector<DaemonSpec> Daemons(const Appliance& appliance, const BootedSlot& booted,
                                const RunOptions& options) {
  const std::string board = fs::absolute(appliance.board_file).string();
  const std::string data = fs::absolute(appliance.data_dir).string();
  DaemonSpec mgmtd{
      "sbc-mgmtd",
      {fs::absolute(booted.root / "bin/sbc-mgmtd").string(), "--board", board, "--data-dir", data},
      appliance.run_dir / "sbc-mgmtd.log"};
  mgmtd.argv.insert(mgmtd.argv.end(), options.mgmtd_args.begin(), options.mgmtd_args.end());
  DaemonSpec dataplane{"sbc-dataplane",
                       {fs::absolute(booted.root / "bin/sbc-dataplane").string(), "--board", board,
                        "--data-dir", data},
                       appliance.run_dir / "sbc-dataplane.log"};
  dataplane.argv.insert(dataplane.argv.end(), options.dataplane_args.begin(),
                        options.dataplane_args.end());
  for (DaemonSpec* spec : {&dataplane, &mgmtd})
    spec->check = [&booted, path = "bin/" + spec->name] { return CheckSlotFile(booted, path); };
  // The dataplane first: sbc-mgmtd hands it the running config once it answers.
  return {std::move(dataplane), std::move(mgmtd)};
}

// Answers one firmware request on boot.sock, if one is waiting. Returns true when the
// request asks for a reboot (activate, revert), after its reply is sent. `ticked`: it
// was sbc-mgmtd's boot-events request, which its main loop makes every tick.
bool ServeBootRequest(int listen_fd, const Appliance& appliance, const TrustContext& trust,
                      const RunningSlot& running, bool& ticked) {
  ticked = false;
  pollfd pfd{listen_fd, POLLIN, 0};
  if (poll(&pfd, 1, 0) <= 0) return false;
  const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return false;
  bool reboot = false;
  if (mgmt::control::PeerIsTrusted(fd)) {
    mgmt::control::FdTransport transport(fd);
    if (auto frame = mgmt::control::ReadFrame(transport, std::chrono::seconds(5))) {
      schema::BootRequest request;
      BootReply reply;
      if (request.ParseFromString(*frame)) {
        ticked = request.has_events_after();
        reply = HandleBootRequest(appliance, trust, running, request, Now());
      } else {
        reply.response.set_error("not a boot request");
      }
      const schema::BootResponse& response = reply.response;
      if (!response.detail().empty()) std::cout << "sbc-boot: " << response.detail() << std::endl;
      if (!response.ok()) std::cout << "sbc-boot: " << response.error() << std::endl;
      // The reply before the reboot: the caller learns what was done.
      (void)mgmt::control::WriteFrame(transport, response.SerializeAsString());
      reboot = reply.reboot;
    }
  }
  close(fd);
  return reboot;
}

// What sbc-boot reads to tell a hung plane from a busy one.
struct Liveness {
  Heartbeats workers;   // each dataplane worker's polls
  MainLoopTicks mgmtd;  // sbc-mgmtd's boot-events requests on boot.sock
};

// Alive: every plane runs, none is stopped, both answer, every dataplane worker polls
// and sbc-mgmtd's main loop ticks.
std::expected<void, std::string> Alive(const Appliance& appliance, const Supervisor& supervisor,
                                       Liveness& live, mgmt::control::SteadyClock::time_point now) {
  if (!supervisor.AllRunning()) {
    live.workers.Reset();  // a restarted dataplane counts from 0 again
    return std::unexpected("a plane is not running");
  }
  for (const auto& [name, pid] : supervisor.Running()) {
    if (IsStopped(pid)) return std::unexpected(name + " is stopped");
    if (name == "sbc-mgmtd") live.mgmtd.Running(pid);
  }
  if (auto answering = CheckHealth(appliance); !answering) return answering;
  if (const auto stall = live.mgmtd.Observe(now))
    return std::unexpected("sbc-mgmtd's main loop has not ticked for " +
                           std::to_string(stall->still.count()) +
                           " ms (no boot-events request; limit " +
                           std::to_string(live.mgmtd.limit().count()) + " ms)");
  return CheckWorkersPolling(appliance, live.workers, now);
}

}  // namespace

bool IsStopped(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // "pid (comm) S ...": the state follows the last ')' (comm may hold one).
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  return state == 'T' || state == 't';
}

std::expected<void, std::string> CheckHealth(const Appliance& appliance) {
  for (const char* socket : {"dataplane.sock", "console.sock"}) {
    auto fd = mgmt::control::ConnectUnix((appliance.run_dir / socket).string());
    if (!fd) return std::unexpected(std::string(socket) + ": " + fd.error());
    close(*fd);
  }
  return {};
}

std::expected<uint64_t, std::string> CheckRulesLive(const Appliance& appliance) {
  auto running = mgmt::store::ReadRunningVersion(appliance.data_dir / "mgmt" / "config");
  if (!running) return std::unexpected(running.error());
  mgmt::service::UnixDataplaneLink dataplane((appliance.run_dir / "dataplane.sock").string());
  schema::DataplaneRequest request;
  request.set_get_status(true);
  auto status = dataplane.Call(request);
  if (!status) return std::unexpected(status.error());
  if (status->rules_version() != *running)
    return std::unexpected("the dataplane enforces config version " +
                           std::to_string(status->rules_version()) +
                           ", sbc-mgmtd's store runs version " + std::to_string(*running));
  return *running;
}

std::expected<void, std::string> CheckWorkersPolling(const Appliance& appliance,
                                                     Heartbeats& workers,
                                                     mgmt::control::SteadyClock::time_point now) {
  // Short: a dataplane whose IPC thread does not answer is itself not alive.
  mgmt::service::UnixDataplaneLink dataplane((appliance.run_dir / "dataplane.sock").string(),
                                             std::chrono::seconds(5));
  schema::DataplaneRequest request;
  request.set_get_status(true);
  auto status = dataplane.Call(request);
  if (!status) return std::unexpected(status.error());
  const auto stall =
      workers.Observe(now, std::span(status->worker_polls().data(), status->worker_polls().size()));
  if (!stall) return {};
  return std::unexpected("sbc-dataplane worker " + std::to_string(stall->index + 1) + " of " +
                         std::to_string(status->worker_polls_size()) + " has not polled for " +
                         std::to_string(stall->still.count()) + " ms (stuck at poll " +
                         std::to_string(stall->count) + ")");
}

void RaiseAlarm(const Appliance& appliance) {
  if (const fs::path led = AlarmLed(appliance); !led.empty())
    if (std::string error = SetAlarmLed(led, true); !error.empty())
      std::cerr << "sbc-boot: " << error << std::endl;
}

RunEnd RunBootedSlot(const Appliance& appliance, const TrustContext& trust,
                     const BootedSlot& booted, const RunOptions& options,
                     const std::atomic<bool>& stop, std::atomic<bool>& verify_now) {
  const mgmt::control::SteadyClock& clock = mgmt::control::SystemSteadyClock();
  Supervisor supervisor(Daemons(appliance, booted, options), options.policy, clock);
  RunningSlot running{booted, "starting"};
  auto set_health = [&](const std::string& health) {
    running.health = health;
    WriteStatus(appliance, booted, health);
  };
  WriteStatus(appliance, booted, running.health);
  // sbc-mgmtd's firmware RPCs arrive here. Without the socket the slot still runs;
  // updates over the control API then fail, saying sbc-boot is unreachable.
  const std::string boot_socket = (appliance.run_dir / kBootSocket).string();
  auto listener = mgmt::control::ListenUnixExclusive(boot_socket, "sbc-boot");
  if (!listener) std::cerr << "sbc-boot: firmware requests: " << listener.error() << std::endl;
  const int listen_fd = listener ? *listener : -1;
  // Closed before the daemons are stopped: a call sbc-mgmtd makes meanwhile fails at
  // once, rather than keeping it from its own exit until the grace ends.
  auto close_listener = [&] {
    if (listen_fd < 0) return;
    close(listen_fd);
    std::error_code ec;
    fs::remove(boot_socket, ec);
  };
  for (const std::string& refusal : supervisor.Start())
    std::cout << "sbc-boot: " << refusal << std::endl;
  bool healthy = false;
  bool reported_fault = false;
  std::vector<std::string> reported_findings;
  auto next_integrity_check = clock.Now() + options.integrity_interval;
  const auto health_deadline = clock.Now() + options.health_deadline;
  auto next_kick_check = clock.Now();
  bool alive = true;
  Liveness liveness{Heartbeats(options.worker_stall_limit),
                    MainLoopTicks(options.mgmtd_stall_limit)};
  std::string why_not_healthy = "the planes have not started";
  auto check_integrity = [&] {
    next_integrity_check = clock.Now() + options.integrity_interval;
    const std::vector<std::string> findings = CheckIntegrity(booted, supervisor.Running());
    for (const std::string& finding : findings) {
      if (std::find(reported_findings.begin(), reported_findings.end(), finding) !=
          reported_findings.end())
        continue;
      reported_findings.push_back(finding);
      RecordAlarm(appliance, booted.slot, "integrity alarm: " + finding);
      set_health("integrity alarm");
      RaiseAlarm(appliance);
      std::cout << "sbc-boot: integrity alarm: " << finding << std::endl;
    }
    std::cout << "sbc-boot: integrity check: " << findings.size() << " finding(s)" << std::endl;
    return findings;
  };
  running.check_integrity = check_integrity;
  // RAUC writing a slot may take minutes, this loop waiting on it: the planes run on
  // meanwhile, and the board must not reset under the install (bounded by its deadline).
  running.keep_alive = [&] {
    if (options.watchdog != nullptr) (void)options.watchdog->Kick();
  };
  while (!stop.load()) {
    if (options.watchdog != nullptr && clock.Now() >= next_kick_check) {
      // A check long overdue: this loop was busy (an install written to the slot), and
      // sbc-mgmtd's ticks waited on boot.sock meanwhile. What was read before says
      // nothing about now.
      if (clock.Now() - next_kick_check > 4 * options.kick_interval) {
        liveness.workers.Reset();
        liveness.mgmtd.Reset();
      }
      next_kick_check = clock.Now() + options.kick_interval;
      // Before the first health check passed the start-up is given until its deadline.
      std::expected<void, std::string> now_alive;
      if (healthy)
        now_alive = Alive(appliance, supervisor, liveness, clock.Now());
      else if (clock.Now() >= health_deadline)
        now_alive = std::unexpected("not healthy by the start-up deadline");
      if (now_alive) {
        if (auto kicked = options.watchdog->Kick(); !kicked)
          std::cerr << "sbc-boot: " << kicked.error() << std::endl;
      } else if (alive && healthy) {
        // Once per episode: the reason the board is about to reset, kept for the
        // operator (the reset itself is recorded by the next boot). A start-up past its
        // deadline is reported below.
        const std::string line = "not alive: " + now_alive.error() + ": watchdog not kicked";
        std::cout << "sbc-boot: " << line << std::endl;
        RecordAlarm(appliance, booted.slot, line);
      }
      alive = now_alive.has_value();
    }
    if (!healthy && clock.Now() >= health_deadline) {
      const std::string line = "not healthy within " +
                               std::to_string(options.health_deadline.count()) +
                               " ms: " + why_not_healthy;
      std::cout << "sbc-boot: " << line << std::endl;
      RecordAlarm(appliance, booted.slot, line);
      close_listener();
      supervisor.Stop();
      return RunEnd::kRebootNeeded;
    }
    for (const std::string& event : supervisor.Poll()) {
      if (event.starts_with("refused to start")) {
        RecordAlarm(appliance, booted.slot, event);
        set_health("integrity alarm");
        RaiseAlarm(appliance);
      }
      std::cout << "sbc-boot: " << event << std::endl;
    }
    if (verify_now.exchange(false) || clock.Now() >= next_integrity_check) (void)check_integrity();
    bool ticked = false;
    const bool reboot =
        listen_fd >= 0 && ServeBootRequest(listen_fd, appliance, trust, running, ticked);
    if (ticked) liveness.mgmtd.Ticked();
    if (reboot) {
      close_listener();
      supervisor.Stop();
      return RunEnd::kRebootRequested;
    }
    if ((supervisor.InCrashLoop() || supervisor.Refused()) && !reported_fault) {
      reported_fault = true;
      const bool loop = supervisor.InCrashLoop();
      const std::string line =
          loop ? "crash loop: a plane keeps exiting (logs in " + appliance.run_dir.string() + ")"
               : "a plane was refused a start: its binary is not the signed one";
      std::cout << "sbc-boot: " << line << std::endl;
      RecordAlarm(appliance, booted.slot, line);
      set_health(loop ? "crash loop" : "integrity alarm");
      RaiseAlarm(appliance);
      // A slot that never became healthy is not kept running half-way: the next boot
      // unpacks it afresh from the verified slot and takes its next attempt, and after
      // the last one the other slot.
      if (!healthy) {
        close_listener();
        supervisor.Stop();
        return RunEnd::kRebootNeeded;
      }
    }
    std::expected<uint64_t, std::string> live = std::unexpected("a plane is not running");
    if (!healthy && supervisor.AllRunning()) {
      if (auto answering = CheckHealth(appliance); !answering)
        live = std::unexpected(answering.error());
      else
        live = CheckRulesLive(appliance);
    }
    if (!healthy && !live) why_not_healthy = live.error();
    if (!healthy && live) {
      healthy = true;
      running.healthy = true;
      auto state = LoadBootState(appliance.boot_dir);
      if (state && state->trial() == booted.slot) {
        // An update activated over the control API waits for the operator's commit
        // (or revert); until then a reboot takes another of its attempts.
        set_health("healthy");
        std::cout << "sbc-boot: health check passed: both planes answer; slot " << booted.slot
                  << " is on trial until committed (sbcctl firmware commit | revert); "
                  << LiveText(*live) << std::endl;
        std::this_thread::sleep_for(options.poll_interval);
        continue;
      }
      // The status first: whoever reads the line below finds the file already says so.
      auto marked = MarkGood(appliance, trust, booted.slot, Now());
      set_health("healthy");
      if (!marked) {
        std::cerr << "sbc-boot: health check passed, but mark-good failed: " << marked.error()
                  << std::endl;
      } else {
        std::cout << "sbc-boot: health check passed: both planes answer; slot " << booted.slot
                  << " marked good; " << LiveText(*live) << std::endl;
      }
    }
    std::this_thread::sleep_for(options.poll_interval);
  }
  close_listener();
  supervisor.Stop();
  if (options.watchdog != nullptr) options.watchdog->Disarm();
  WriteStatus(appliance, booted, "stopped");
  return RunEnd::kStopped;
}

}  // namespace sbc::firmware
