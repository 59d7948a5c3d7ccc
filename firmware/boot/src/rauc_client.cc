#include "sbc/firmware/rauc_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace sbc::firmware {

namespace fs = std::filesystem;

bool IsRaucBundle(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 4 && std::string_view(magic, 4) == "hsqs";
}

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::seconds deadline,
                         const std::function<void()>& waiting) {
  CommandResult result;
  int out[2];
  if (argv.empty() || pipe2(out, O_CLOEXEC) != 0) return result;
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  if (pid < 0) {
    close(out[0]);
    return result;
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  constexpr auto kWaitingEvery = std::chrono::milliseconds(500);
  auto next_waiting = std::chrono::steady_clock::now();
  bool killed = false;
  for (;;) {
    // Once as it starts, then every 500 ms whether it writes output or not.
    if (std::chrono::steady_clock::now() >= next_waiting) {
      next_waiting = std::chrono::steady_clock::now() + kWaitingEvery;
      if (waiting) waiting();
    }
    pollfd pfd{out[0], POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(kWaitingEvery.count())) > 0) {
      char buffer[4096];
      const ssize_t n = read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;  // its end of the pipe closed: it exited
      result.output.append(buffer, static_cast<size_t>(n));
    }
    if (!killed && std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      killed = true;
    }
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!killed && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

namespace {

// What failed, as RAUC says it: its "LastError: " line (the progress lines and the
// closing "Installing `...` failed" say only that it did), else its last line.
std::string Reason(const std::string& output) {
  std::istringstream lines(output);
  std::string line, last, last_error;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.starts_with("LastError: ")) last_error = line.substr(11);
  }
  if (!last_error.empty()) return last_error;
  return last.empty() ? "rauc said nothing" : last;
}

}  // namespace

std::expected<std::string, std::string> RaucBootedSlot() {
  const CommandResult status =
      RunCommand({kRaucCommand, "status", "--output-format=shell"}, std::chrono::seconds(60), {});
  if (status.exit_code != 0)
    return std::unexpected("the RAUC service does not answer: " + Reason(status.output));
  std::istringstream lines(status.output);
  std::string line;
  const std::string key = "RAUC_SYSTEM_BOOTED_BOOTNAME=";
  while (std::getline(lines, line)) {
    if (!line.starts_with(key)) continue;
    std::string value = line.substr(key.size());
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    return value;
  }
  return std::unexpected(std::string("rauc status names no booted slot"));
}

std::expected<void, std::string> RaucInstall(const fs::path& bundle,
                                             const std::function<void()>& waiting) {
  const CommandResult installed =
      RunCommand({kRaucCommand, "install", bundle.string()}, std::chrono::minutes(30), waiting);
  if (installed.exit_code == 0) return {};
  if (installed.exit_code < 0)
    return std::unexpected(std::string("rauc install did not finish within 30 minutes"));
  return std::unexpected(Reason(installed.output));
}

}  // namespace sbc::firmware
