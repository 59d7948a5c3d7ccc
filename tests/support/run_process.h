// Runs one of the project's programs as a child process and captures what it did, so
// tests check exit codes and messages exactly as an operator would see them.
#pragma once

#include <string>
#include <vector>

namespace sbc::testing {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;       // the signal that ended it, 0 if it exited
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is a path), feeding no stdin. If `signal_after_ms` > 0, sends
// `signal` to the child that long after it starts. Waits at most `timeout_s`, then
// kills it (result.signal == SIGKILL).
ProcessResult RunProcess(const std::vector<std::string>& argv, int timeout_s = 60,
                         int signal_after_ms = 0, int signal = 0);

// RunProcess with `input` (at most 16 KiB) on the child's stdin.
ProcessResult RunProcessWithInput(const std::vector<std::string>& argv, const std::string& input, int timeout_s = 60);

// A process that runs while the test does (a daemon), its stdout and stderr in a
// file. The destructor sends SIGTERM and waits.
class BackgroundProcess {
 public:
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_file);
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;
  // Waits up to `timeout_s` for `text` to appear in the log; returns the log so far.
  std::string WaitForLog(const std::string& text, int timeout_s = 20) const;
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
