// Runs one of the project's programs as a child process and captures what it did, so
// tests check exit codes and messages exactly as an operator would see them.
#pragma once

#include <string>
#include <vector>

namespace sbc::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that ended it, 0 if it exited
  std::string out;
  std::string err;
};

// How long a test waits for something that must happen before it calls it a failure:
// long enough for a slow or loaded machine (and the sanitizers), since a test that
// passes only waits as long as the event takes.
inline constexpr int kEventDeadlineS = 300;

// Runs `argv` (argv[0] is a path), feeding no stdin. Waits at most `timeout_s`, then
// kills it (result.signal == SIGKILL).
ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_s = kEventDeadlineS);

// RunProcess with `input` (at most 16 KiB) on the child's stdin.
ProcessResult RunProcessWithInput(const std::vector<std::string>& argv, const std::string& input,
                                  int timeout_s = kEventDeadlineS);

// A process that runs while the test does (a daemon), its stdout and stderr in a
// file. The destructor sends SIGTERM and waits.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_file);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // Waits up to `timeout_s` for `text` to appear in the log; returns the log so far.
  std::string WaitForLog(const std::string& text, int timeout_s = kEventDeadlineS) const;
  // The log so far.
  std::string Log() const;
  // Sends `signal` and waits (at most `timeout_s`, then SIGKILL) for the process to
  // end; its exit code and signal as RunProcess reports them, its log as `out`.
  ProcessResult Stop(int signal, int timeout_s = kEventDeadlineS);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  std::string log_file_;
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreeLoopbackPort();

// Lines of `text`, without their newlines; no empty trailing line.
std::vector<std::string> Lines(const std::string& text);

}  // namespace sbc::testing
