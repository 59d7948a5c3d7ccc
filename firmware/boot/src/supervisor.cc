#include "sbc/firmware/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace sbc::firmware {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

std::string Ms(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

std::string HowItEnded(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "ended";
}

}  // namespace

Supervisor::Supervisor(std::vector<DaemonSpec> daemons, SupervisionPolicy policy,
                       const mgmt::control::SteadyClock& clock)
    : policy_(policy), clock_(clock) {
  for (DaemonSpec& spec : daemons) daemons_.push_back(Daemon{.spec = std::move(spec)});
}

Supervisor::~Supervisor() { Stop(); }

std::string Supervisor::Launch(Daemon& daemon) {
  if (daemon.spec.check) {
    if (auto ok = daemon.spec.check(); !ok) {
      daemon.pid = -1;
      daemon.refused = true;
      return "refused to start " + daemon.spec.name + ": " + ok.error() + "; left stopped";
    }
  }
  // Built before the fork: the child only execs.
  std::vector<char*> args;
  args.reserve(daemon.spec.argv.size() + 1);
  for (const std::string& arg : daemon.spec.argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // The child: its own process group (a stop reaches what it starts), output to its
    // log, nothing inherited on stdin.
    setpgid(0, 0);
    // When sbc-boot dies (a watchdog reset, a power cut on the sim board), so does the
    // daemon: nothing of a slot outlives the process that verified it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // it died before the line above
    const int log = open(daemon.spec.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    if (devnull >= 0) dup2(devnull, 0);
    execv(args[0], args.data());
    _exit(127);
  }
  daemon.pid = pid;  // -1 when fork failed: Poll counts it as an exit
  daemon.started_at = clock_.Now();
  return "";
}

std::vector<std::string> Supervisor::Start() {
  std::vector<std::string> refusals;
  for (Daemon& daemon : daemons_)
    if (std::string refused = Launch(daemon); !refused.empty()) refusals.push_back(refused);
  return refusals;
}

std::string Supervisor::OnExit(Daemon& daemon, const std::string& how) {
  const auto now = clock_.Now();
  // A daemon that ran for a whole window was healthy: its next crash starts the
  // backoff from the beginning again.
  if (now - daemon.started_at > policy_.crash_loop_window) daemon.exits_in_a_row = 0;
  daemon.pid = -1;
  daemon.exits.push_back(now);
  std::erase_if(daemon.exits, [&](auto at) { return now - at > policy_.crash_loop_window; });
  if (static_cast<int>(daemon.exits.size()) >= policy_.crash_loop_exits) {
    daemon.crash_loop = true;
    return daemon.spec.name + " " + how + ": crash loop (" + std::to_string(daemon.exits.size()) +
           " exits in " + Ms(policy_.crash_loop_window) + "); left stopped";
  }
  milliseconds backoff = policy_.first_backoff;
  for (int i = 0; i < daemon.exits_in_a_row && backoff < policy_.max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, policy_.max_backoff);
  ++daemon.exits_in_a_row;
  daemon.restart_at = now + backoff;
  return daemon.spec.name + " " + how + "; restart in " + Ms(backoff);
}

std::vector<std::string> Supervisor::Poll() {
  std::vector<std::string> events;
  for (Daemon& daemon : daemons_) {
    if (daemon.crash_loop || daemon.refused) continue;
    if (daemon.pid > 0) {
      int status = 0;
      const pid_t done = waitpid(daemon.pid, &status, WNOHANG);
      if (done == daemon.pid) events.push_back(OnExit(daemon, HowItEnded(status)));
      continue;
    }
    if (daemon.restart_at == mgmt::control::SteadyClock::time_point{}) {
      events.push_back(OnExit(daemon, "could not be started"));
      continue;
    }
    if (clock_.Now() >= daemon.restart_at) {
      if (std::string refused = Launch(daemon); !refused.empty()) {
        events.push_back(refused);
        continue;
      }
      ++daemon.restarts;
      daemon.restart_at = {};
      if (daemon.pid > 0)
        events.push_back(daemon.spec.name + " restarted (restart " +
                         std::to_string(daemon.restarts) + ")");
    }
  }
  return events;
}

void Supervisor::Stop(milliseconds grace) {
  for (Daemon& daemon : daemons_)
    if (daemon.pid > 0) kill(-daemon.pid, SIGTERM);
  // A daemon's own drain takes what it takes; the grace bounds a hung one only, on the
  // real clock (this is shutdown, not a test's timeout).
  const auto until = std::chrono::steady_clock::now() + grace;
  for (Daemon& daemon : daemons_) {
    while (daemon.pid > 0) {
      int status = 0;
      const pid_t done = waitpid(daemon.pid, &status, WNOHANG);
      if (done == daemon.pid || (done < 0 && errno == ECHILD)) {
        daemon.pid = -1;
        break;
      }
      if (std::chrono::steady_clock::now() > until) kill(-daemon.pid, SIGKILL);
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
}

bool Supervisor::AllRunning() const {
  return std::all_of(daemons_.begin(), daemons_.end(), [](const Daemon& d) { return d.pid > 0; });
}

bool Supervisor::InCrashLoop() const {
  return std::any_of(daemons_.begin(), daemons_.end(),
                     [](const Daemon& d) { return d.crash_loop; });
}

bool Supervisor::Refused() const {
  return std::any_of(daemons_.begin(), daemons_.end(), [](const Daemon& d) { return d.refused; });
}

std::vector<std::pair<std::string, pid_t>> Supervisor::Running() const {
  std::vector<std::pair<std::string, pid_t>> running;
  for (const Daemon& daemon : daemons_)
    if (daemon.pid > 0) running.emplace_back(daemon.spec.name, daemon.pid);
  return running;
}

pid_t Supervisor::Pid(const std::string& name) const {
  for (const Daemon& daemon : daemons_)
    if (daemon.spec.name == name) return daemon.pid;
  return -1;
}

int Supervisor::Restarts(const std::string& name) const {
  for (const Daemon& daemon : daemons_)
    if (daemon.spec.name == name) return daemon.restarts;
  return 0;
}

std::string SetAlarmLed(const std::filesystem::path& led_file, bool on) {
  std::error_code ec;
  std::filesystem::create_directories(led_file.parent_path(), ec);
  std::ofstream out(led_file, std::ios::trunc);
  out << (on ? "1\n" : "0\n");
  return out.flush() ? "" : led_file.string() + ": cannot write";
}

}  // namespace sbc::firmware
