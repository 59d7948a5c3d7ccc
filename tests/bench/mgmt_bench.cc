// Management-plane figures, with the real components in one process (TLS server,
// control service, config store, audit log) and a real sbc-dataplane process:
//   1. mutual-TLS handshakes per second (connect, handshake, one STATUS call, close);
//   2. p50/p99 latency of a COUNTERS call with 50 concurrent clients, each on its own
//      connection (every call is authorised, answered from the dataplane over IPC, and
//      appended to the audit log with fsync);
//   3. push-to-live: from sending CONFIG_PUSH of a signed 10,000-rule bundle to its
//      response, which comes after the store committed it, the audit log recorded it
//      and the dataplane verified, compiled and swapped it in.
//
//   cmake --preset release && cmake --build --preset release --target mgmt_bench sbc-dataplane
//   build/release/tests/bench/mgmt_bench build/release/firmware/dataplane/sbc-dataplane
#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/service/dataplane_link.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "sbc/schema/text_file.h"
#include "support/signing.h"
#include "support/test_pki.h"
#include "support/tls_client.h"

namespace {

using namespace sbc;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: mgmt_bench PATH-TO-sbc-dataplane\n");
    return 2;
  }
  const fs::path dir = fs::temp_directory_path() / ("sbc-mgmt-bench-" + std::to_string(getpid()));
  fs::create_directories(dir / "keys");
  testing::TestSigners signers(1, 1);
  {
    std::string root;
    google::protobuf::TextFormat::PrintToString(signers.root(), &root);
    std::ofstream(dir / "keys/trust-root.textproto") << root;
    std::ofstream(dir / "keys/identity.textproto") << "serial: \"SN-1\" environment: DEVELOPMENT\n";
  }
  // The dataplane, on the sim board, with its IPC socket in our directory.
  const std::string board = std::string(SBC_SOURCE_DIR) + "/board/sim.textproto";
  const pid_t dataplane = fork();
  if (dataplane == 0) {
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(argv[1], argv[1], "--board", board.c_str(), "--data-dir", dir.c_str(), "--keep-running",
          "--sim-rate", "1000", "--stats-interval", "3600", "--flows-per-worker", "1024", nullptr);
    _exit(127);
  }
  mgmt::service::UnixDataplaneLink link((dir / "run/dataplane.sock").string());
  schema::DataplaneRequest probe;
  probe.set_get_counters(true);
  for (int i = 0; i < 200 && !link.Call(probe); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));

  auto verifier = mgmt::trust::Verifier::Create(signers.root(), signers.Identity("SN-1"));
  mgmt::base::SystemClock clock;
  auto store = mgmt::store::ConfigStore::Open(dir / "config", *verifier, clock, {});
  auto audit = mgmt::audit::AuditLog::Open(dir / "audit");
  schema::UserDirectory users;
  auto* user = users.add_users();
  user->set_name("bench");
  user->add_roles(schema::OPERATOR);
  user->add_roles(schema::VIEWER);
  mgmt::service::ControlService service(users, **store, **audit, (dir / "audit").string(), clock);
  service.AttachDataplane(&link);
  testing::TestPki pki;
  const auto server_cred = pki.Issue("sbc-appliance");
  auto server = mgmt::tls::TlsServer::Start(
      {.port = 0,
       .ca_pem = pki.ca_pem(),
       .cert_pem = server_cred.cert_pem,
       .key_pem = server_cred.key_pem,
       .max_clients = 64},
      [&](const mgmt::tls::ClientIdentity& who, const std::string& frame) {
        return service.HandleFrame({.name = who.common_name, .key_id = who.key_id}, frame);
      });
  const testing::TlsClientOptions options{.credential = pki.Issue("bench")};
  schema::Request status;
  status.mutable_status();
  const std::string status_frame = status.SerializeAsString();

  // 1. Handshakes per second, one client after another for 3 s.
  int handshakes = 0;
  const auto hs_start = Clock::now();
  while (Clock::now() - hs_start < std::chrono::seconds(3)) {
    testing::TlsTestClient client((*server)->port(), pki.ca_pem(), options);
    if (client.handshake_ok() && client.Call(status_frame)) ++handshakes;
  }
  const double handshakes_per_s = handshakes / (Ms(Clock::now() - hs_start) / 1000.0);

  // 2. COUNTERS latency, 50 concurrent clients, 40 calls each.
  schema::Request counters;
  counters.mutable_counters();
  const std::string counters_frame = counters.SerializeAsString();
  constexpr int kClients = 50, kCalls = 40;
  std::vector<std::vector<double>> per_client(kClients);
  std::vector<std::thread> threads;
  const auto load_start = Clock::now();
  for (int c = 0; c < kClients; ++c)
    threads.emplace_back([&, c] {
      testing::TlsTestClient client((*server)->port(), pki.ca_pem(), options);
      for (int i = 0; i < kCalls && client.handshake_ok(); ++i) {
        const auto t0 = Clock::now();
        if (!client.Call(counters_frame)) break;
        per_client[c].push_back(Ms(Clock::now() - t0));
      }
    });
  for (auto& t : threads) t.join();
  const double load_s = Ms(Clock::now() - load_start) / 1000.0;
  std::vector<double> latencies;
  for (const auto& v : per_client) latencies.insert(latencies.end(), v.begin(), v.end());

  // 3. Push-to-live of a 10,000-rule bundle, three versions.
  std::vector<double> push_ms;
  testing::TlsTestClient op((*server)->port(), pki.ca_pem(), options);
  for (uint64_t v = 1; v <= 3; ++v) {
    schema::Request push;
    push.mutable_config_push()->set_bundle(signers.Bundle(v, 10000));
    const auto t0 = Clock::now();
    auto reply = op.Call(push.SerializeAsString());
    push_ms.push_back(Ms(Clock::now() - t0));
    schema::Response r;
    if (!reply || !r.ParseFromString(*reply) || r.outcome() != schema::OK || !r.warning().empty()) {
      std::fprintf(stderr, "push %lu failed: %s %s\n", static_cast<unsigned long>(v),
                   r.error().c_str(), r.warning().c_str());
      return 1;
    }
  }
  const auto live = link.Call(probe);

  std::printf("mgmt_bench: %zu COUNTERS calls from %d clients in %.2f s\n", latencies.size(),
              kClients, load_s);
  std::printf("  mTLS handshakes (+1 STATUS call) per second, one client: %.0f\n",
              handshakes_per_s);
  std::printf("  COUNTERS latency, %d concurrent clients: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              kClients, Percentile(latencies, 0.5), Percentile(latencies, 0.99),
              Percentile(latencies, 1.0));
  std::printf(
      "  push-to-live, 10,000-rule bundle (3 pushes): median %.0f ms (min %.0f, max %.0f); "
      "dataplane runs version %lu\n",
      Percentile(push_ms, 0.5), *std::min_element(push_ms.begin(), push_ms.end()),
      *std::max_element(push_ms.begin(), push_ms.end()),
      static_cast<unsigned long>(live ? live->rules_version() : 0));
  kill(dataplane, SIGTERM);
  waitpid(dataplane, nullptr, 0);
  server->reset();
  fs::remove_all(dir);
  return live && live->rules_version() == 3 ? 0 : 1;
}
