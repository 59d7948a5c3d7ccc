// sbc-dataplane: the DPDK primary process of the appliance.
//
//   sbc-dataplane --board board/sim.textproto --sim-traffic 100000
//
// Loads and validates the board, initialises EAL from it, verifies and compiles the
// signed --config (its rules in force before the first poll), brings up the ports, runs
// one worker per worker core (firewall and media relay), serves sbc-mgmtd's bundles and
// media sessions on its IPC socket, and on SIGINT/SIGTERM drains the workers, prints
// the counters and exits. On the sim board, --sim-traffic sends synthetic traffic through
// the ports from their far ends and accounts for every frame.
#include <rte_mempool.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>

#include "sbc/board/board.h"
#include "sbc/drivers/eal.h"
#include "sbc/firmware/dataplane.h"
#include "sbc/firmware/ipc_dispatch.h"
#include "sbc/firmware/ipc_server.h"
#include "sbc/firmware/media_service.h"
#include "sbc/firmware/process_hardening.h"
#include "sbc/firmware/signed_config.h"
#include "sbc/firmware/sim_traffic_run.h"
#include "sbc/mgmt/trust/text_files.h"

namespace {

// Exit codes: scripts tell a refused input from a runtime failure.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 2;

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // written from a signal handler

void OnStopSignal(int) { g_stop.store(true, std::memory_order_relaxed); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// Releases EAL when main() leaves, by whichever return: once InitEal succeeded, every
// way out must clean up, after the dataplane (declared later, so destroyed first).
class EalCleanup {
 public:
  explicit EalCleanup(const sbc::board::Board& board) : board_(board) {}
  ~EalCleanup() { sbc::drivers::CleanupEal(board_); }
  EalCleanup(const EalCleanup&) = delete;
  EalCleanup& operator=(const EalCleanup&) = delete;

 private:
  const sbc::board::Board& board_;
};

int Fail(int code, const std::string& line) {
  std::cerr << "sbc-dataplane: " << line << std::endl;
  return code;
}

// Reads the bundle and has it verified against the key store's trust root and compiled.
std::expected<sbc::firmware::VerifiedConfig, std::string> LoadConfig(
    const std::expected<sbc::mgmt::trust::Verifier, std::string>& verifier,
    const sbc::board::Board& board, const std::string& file) {
  if (!verifier) return std::unexpected(verifier.error());
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::unexpected("config " + file + ": cannot be read");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto verified =
      sbc::firmware::VerifyAndCompile(*verifier, board, bytes.str(), std::time(nullptr));
  if (!verified) return std::unexpected("config " + file + ": " + verified.error());
  return verified;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"sbc-dataplane: the appliance's poll-mode dataplane"};
  std::string board_file;
  std::string config_file;
  std::string data_dir;
  uint64_t sim_frames = 0;
  uint32_t sim_flows = 1024;
  uint32_t sim_runt_every = 0;
  uint64_t sim_rate = 100000;
  bool keep_running = false;
  double stats_interval = 5.0;
  std::string log_level = "*:warning";
  std::string file_prefix = "sbc-" + std::to_string(getpid());
  app.add_option("--board", board_file, "board description (text-format protobuf)")->required();
  app.add_option("--config", config_file,
                 "signed configuration bundle: verified against the key store's trust root "
                 "and compiled before any port is opened");
  app.add_option("--data-dir", data_dir,
                 "state directory, instead of the board's storage.data_dir");
  std::string ipc_socket;
  app.add_option("--ipc-socket", ipc_socket,
                 "Unix socket for sbc-mgmtd (default <data dir>/run/dataplane.sock; none: no IPC)");
  app.add_option("--sim-traffic", sim_frames,
                 "sim board only: send this many frames through the ports, check every one "
                 "arrived or was counted as dropped, then exit");
  app.add_option("--sim-flows", sim_flows, "distinct flows in the sim traffic")
      ->check(CLI::Range(1u, 1u << 24));
  app.add_option("--sim-runt-every", sim_runt_every,
                 "make every n-th sim frame a runt, to exercise the drop counters (0: none)");
  app.add_option("--sim-rate", sim_rate,
                 "frames per second of sim traffic with --keep-running (0: unpaced)");
  app.add_flag("--keep-running", keep_running,
               "keep running (and sending sim traffic) until SIGINT/SIGTERM, printing "
               "counters every --stats-interval seconds");
  app.add_option("--stats-interval", stats_interval, "seconds between counter reports")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--log-level", log_level, "DPDK log level, EAL --log-level syntax");
  uint32_t media_sessions = 1024;
  app.add_option("--media-sessions", media_sessions,
                 "media sessions the relay has room for (each SRTP session takes about 12 KB of "
                 "crypto state)")
      ->check(CLI::Range(1u, 200000u));
  uint32_t flows_per_worker = 1u << 16;
  app.add_option("--flows-per-worker", flows_per_worker,
                 "connection-table entries per worker (caps the config's max_flows)")
      ->check(CLI::Range(1024u, 1u << 26));
  app.add_option("--file-prefix", file_prefix, "EAL runtime file prefix");
  CLI11_PARSE(app, argc, argv);

  auto board = sbc::board::LoadBoard(board_file);
  if (!board) {
    for (const std::string& error : board.error()) std::cerr << "sbc-dataplane: " << error << "\n";
    return kExitBadInput;
  }
  if (!data_dir.empty()) board->mutable_storage()->set_data_dir(data_dir);
  // Configuration is verified and compiled before any device is touched: a refused
  // bundle costs nothing and changes nothing.
  const auto key_store = sbc::board::ResolveStoragePath(*board, board->storage().key_store());
  const auto verifier = sbc::mgmt::trust::LoadVerifier(key_store);
  std::optional<sbc::firmware::VerifiedConfig> config;
  if (!config_file.empty()) {
    auto loaded = LoadConfig(verifier, *board, config_file);
    if (!loaded) return Fail(kExitBadInput, loaded.error());
    config = std::move(*loaded);
    std::cout << "sbc-dataplane: config version " << config->tables.version << ": "
              << config->tables.rules.size() << " rules in " << config->tables.zones.size()
              << " zones, verified (" << config->signatures << " signature(s)) and compiled"
              << std::endl;
  }
  // Checked before EAL sees the board, so the message names the board field.
  if (auto cores = sbc::drivers::CheckCoresAvailable(*board, board_file); !cores)
    return Fail(kExitBadInput, cores.error());

  InstallStopHandlers();
  const sbc::drivers::EalOptions eal{
      .program = "sbc-dataplane", .file_prefix = file_prefix, .log_level = log_level};
  if (auto ok = sbc::drivers::InitEal(*board, eal); !ok) return Fail(kExitFailure, ok.error());
  // From here every way out releases EAL, after the dataplane (declared later) is gone.
  const EalCleanup eal_cleanup(*board);
  // Before any SRTP key is derived (and after EAL, which reads /proc/self as it starts).
  if (auto ok = sbc::firmware::ForbidCoreDumps(); !ok) return Fail(kExitFailure, ok.error());

  int exit_code = kExitOk;
  {
    // The verified rules are in force before any worker polls a port.
    auto dataplane = sbc::firmware::Dataplane::Start(
        *board, {.flows_per_worker = flows_per_worker,
                 .media_sessions = media_sessions,
                 .initial_rules = config ? &config->tables : nullptr});
    if (!dataplane) return Fail(kExitFailure, dataplane.error());
    sbc::firmware::Dataplane& dp = **dataplane;
    if (!config)
      std::cout << "sbc-dataplane: no --config: every packet is dropped (fail closed)" << std::endl;
    // Media sessions from sbc-mgmtd; idle ones end on their own.
    sbc::firmware::MediaService media(
        dp, [](const std::string& line) { std::cout << "sbc-dataplane: " << line << std::endl; });
    // sbc-mgmtd hands over accepted bundles here; each is verified again before use.
    sbc::firmware::IpcDispatch dispatch(
        dp, media,
        [&](std::string_view envelope)
            -> std::expected<sbc::firmware::VerifiedConfig, std::string> {
          if (!verifier) return std::unexpected(verifier.error());
          return sbc::firmware::VerifyAndCompile(*verifier, *board, envelope, std::time(nullptr));
        },
        [](const std::string& line) { std::cout << "sbc-dataplane: " << line << std::endl; });
    std::unique_ptr<sbc::firmware::IpcServer> ipc;
    if (ipc_socket != "none") {
      const std::string path =
          ipc_socket.empty() ? sbc::board::ResolveStoragePath(*board, "run/dataplane.sock").string()
                             : ipc_socket;
      auto started = sbc::firmware::IpcServer::Start(
          path, [&dispatch](const sbc::schema::DataplaneRequest& request) {
            return dispatch.Handle(request);
          });
      if (!started) return Fail(kExitFailure, started.error());
      ipc = std::move(*started);
    }
    std::cout << "sbc-dataplane: board " << board->name() << ", " << dp.ports().size() << " ports, "
              << board->cpu().worker_cores_size() << " worker(s); forwarding" << std::endl;

    // Packet-log lines go to stderr, the daemon's log, apart from the counter reports.
    auto print_log = [&dp] {
      for (const std::string& line : dp.TakePacketLog())
        std::cerr << "sbc-dataplane: " << line << "\n";
      std::cerr << std::flush;
    };
    auto print_counters = [&dp, &print_log] {
      print_log();
      std::cout << sbc::firmware::FormatCounters(dp) << std::flush;
    };

    if (sim_frames != 0 || (keep_running && dp.ports().sim_wire() != nullptr)) {
      const sbc::firmware::SimTrafficOptions options{
          .frames = sim_frames,
          .flows = sim_flows,
          .runt_every = sim_runt_every,
          .keep_running = keep_running,
          .rate_pps = sim_rate,
          .report_interval_s = stats_interval,
          .report = print_counters,
      };
      auto result = sbc::firmware::RunSimTraffic(dp, options, g_stop);
      if (!result) {
        print_counters();
        exit_code = Fail(kExitFailure, result.error());
      } else {
        const uint64_t dropped = dp.Counters().drops_total();
        std::cout << "sim traffic: sent " << result->sent << " frames, " << result->arrived
                  << " arrived on the peer port, " << dropped << " dropped and counted";
        if (result->mismatched != 0) std::cout << ", " << result->mismatched << " unexpected";
        std::cout << std::endl;
        if (result->sent != result->arrived + dropped || result->mismatched != 0)
          exit_code = Fail(kExitFailure, "sim traffic: frames went missing or were altered");
      }
    } else {
      // No traffic of our own: forward until told to stop.
      auto last = std::chrono::steady_clock::now();
      while (!g_stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        print_log();
        if (std::chrono::steady_clock::now() - last >=
            std::chrono::duration<double>(stats_interval)) {
          last = std::chrono::steady_clock::now();
          print_counters();
        }
      }
      std::cout << "sbc-dataplane: stopping" << std::endl;
    }
    ipc.reset();  // no rule change from sbc-mgmtd while stopping
    media.Stop();
    dp.Stop();
    print_counters();
    if (const uint64_t suppressed = dp.PacketLogSuppressed(); suppressed != 0)
      std::cerr << "sbc-dataplane: packet log: " << suppressed
                << " records suppressed by its rate limit" << std::endl;
    const unsigned in_use = rte_mempool_in_use_count(dp.ports().pool());
    std::cout << "packet buffers still in use after stop: " << in_use << std::endl;
    if (in_use != 0) exit_code = Fail(kExitFailure, "packet buffers leaked");
    dp.Close();
  }
  return exit_code;
} catch (const std::exception& e) {
  // Nothing is meant to throw this far: say what did, rather than abort without a word.
  std::cerr << "sbc-dataplane: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
