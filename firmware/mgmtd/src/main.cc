// sbc-mgmtd: the management daemon. Serves the control API over mutually
// authenticated TLS only (loopback by default: operators come through ssh -L), keeps
// the signed configuration store and the audit log, and never links DPDK.
//
//   sbc-mgmtd --board board/sim.textproto [--data-dir DIR] [--port 4443]
//   sbc-mgmtd --board board/sim.textproto --provision-dev admin --client-dir DIR
//
// Firmware RPCs go to sbc-boot (<data dir>/run/boot.sock), which runs this daemon on an
// appliance; started by hand, they fail: "sbc-boot unreachable".
//
// Besides TLS it serves the local console socket (<data dir>/run/console.sock, 0600):
// password break-glass for an operator at the appliance's console (sbcctl --console).
#include <sysexits.h>
#include <CLI/CLI.hpp>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "key_store.h"
#include "sbc/board/board.h"
#include "sbc/firmware/process_hardening.h"
#include "sbc/mgmt/audit/audit_log.h"
#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/clock/settable_clock.h"
#include "sbc/mgmt/control/console_server.h"
#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/mgmt/service/control_service.h"
#include "sbc/mgmt/store/config_store.h"
#include "sbc/mgmt/tls/tls_config.h"
#include "sbc/mgmt/tls/tls_server.h"
#include "sbc/mgmt/trust/text_files.h"

namespace {

constexpr int kExitOk = 0, kExitFailure = 1, kExitBadInput = 2;
std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop.store(true); }

int Fail(int code, const std::string& line) {
  std::cerr << "sbc-mgmtd: " << line << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace sbc;
  CLI::App app{"sbc-mgmtd: the appliance's management daemon"};
  std::string board_file, data_dir, listen, provision_admin, client_dir;
  int port = -1;
  app.add_option("--board", board_file, "board description (storage paths)")->required();
  app.add_option("--data-dir", data_dir,
                 "state directory, instead of the board's storage.data_dir");
  app.add_option("--listen", listen,
                 "address to listen on, instead of the running config's management.listen_address "
                 "(default 127.0.0.1: operators come through ssh -L)");
  app.add_option("--port", port,
                 "TCP port, instead of management.listen_port (default 4443; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--provision-dev", provision_admin,
                 "development appliances only: create the management CA, the daemon's certificate "
                 "and an administrator with this name, then exit");
  app.add_option("--client-dir", client_dir,
                 "where --provision-dev writes the administrator's credential");
  std::string dataplane_socket, console_socket, boot_socket;
  app.add_option(
      "--dataplane-socket", dataplane_socket,
      "sbc-dataplane's IPC socket (default <data dir>/run/dataplane.sock; none: no dataplane)");
  app.add_option("--console-socket", console_socket,
                 "the console's password login socket (default <data dir>/run/console.sock; none: "
                 "no console)");
  app.add_option("--boot-socket", boot_socket,
                 "sbc-boot's socket, for the firmware RPCs (default <data dir>/run/boot.sock)");
  CLI11_PARSE(app, argc, argv);
  // Before any key is read: none may reach a core file or another process.
  if (auto hardened = firmware::ForbidCoreDumps(); !hardened)
    return Fail(kExitFailure, hardened.error());

  auto board = board::LoadBoard(board_file);
  if (!board) {
    for (const auto& e : board.error()) std::cerr << "sbc-mgmtd: " << e << "\n";
    return kExitBadInput;
  }
  if (!data_dir.empty()) board->mutable_storage()->set_data_dir(data_dir);
  const auto key_store = board::ResolveStoragePath(*board, board->storage().key_store());
  auto verifier = mgmt::trust::LoadVerifier(key_store);
  if (!verifier) return Fail(kExitBadInput, verifier.error());

  if (!provision_admin.empty()) {
    if (verifier->identity().environment() != schema::DEVELOPMENT)
      return Fail(kExitBadInput, "--provision-dev is for development appliances; this one is " +
                                     schema::Environment_Name(verifier->identity().environment()));
    if (client_dir.empty()) return Fail(kExitBadInput, "--provision-dev needs --client-dir");
    if (auto ok = firmware::mgmtd::ProvisionDevelopment(key_store, provision_admin, client_dir);
        !ok)
      return Fail(kExitFailure, ok.error());
    std::cout << "sbc-mgmtd: provisioned " << key_store.string() << "; administrator "
              << provision_admin << "'s credential is in " << client_dir << std::endl;
    return kExitOk;
  }

  auto files = firmware::mgmtd::LoadKeyStore(key_store);
  if (!files) return Fail(kExitBadInput, files.error());
  // The board says whose clock this is: the system's, or (sim) an offset of our own.
  auto clock = board->clock().offset_file().empty()
                   ? mgmt::clock::SystemRealtimeClock()
                   : mgmt::clock::OffsetFileClock(
                         board::ResolveStoragePath(*board, board->clock().offset_file()));
  if (!clock) return Fail(kExitBadInput, "clock: " + clock.error());
  const auto state_dir = board::ResolveStoragePath(*board, "mgmt");
  auto store = mgmt::store::ConfigStore::Open(state_dir / "config", *verifier, **clock, {});
  if (!store) return Fail(kExitFailure, store.error());
  auto audit = mgmt::audit::AuditLog::Open(state_dir / "audit");
  if (!audit) return Fail(kExitFailure, audit.error());
  mgmt::service::ControlService service(files->users, **store, **audit,
                                        (state_dir / "audit").string(), **clock);
  service.AttachClock(clock->get());
  service.SetUserPersistence([&key_store](const schema::UserDirectory& users) {
    return firmware::mgmtd::WriteUsers(key_store, users);
  });
  // The CA key lives on the key store of appliances that issue their own certificates.
  std::unique_ptr<mgmt::pki::CertificateAuthority> ca;
  if (std::filesystem::exists(key_store / firmware::mgmtd::kCaKey)) {
    auto ca_key = mgmt::base::ReadFile(key_store / firmware::mgmtd::kCaKey);
    auto loaded = ca_key ? mgmt::pki::CertificateAuthority::Load({files->ca_pem, *ca_key})
                         : std::unexpected(ca_key.error());
    if (!loaded) return Fail(kExitBadInput, "management CA: " + loaded.error());
    ca = std::move(*loaded);
    service.AttachCertificateAuthority(ca.get());
  }
  std::unique_ptr<mgmt::service::UnixDataplaneLink> dataplane;
  if (dataplane_socket != "none") {
    dataplane = std::make_unique<mgmt::service::UnixDataplaneLink>(
        dataplane_socket.empty() ? board::ResolveStoragePath(*board, "run/dataplane.sock").string()
                                 : dataplane_socket);
    service.AttachDataplane(dataplane.get());
  }
  // Firmware steps are sbc-boot's (it owns the slots); uploads are staged here.
  mgmt::service::UnixBootLink boot(boot_socket.empty()
                                       ? board::ResolveStoragePath(*board, "run/boot.sock").string()
                                       : boot_socket);
  service.AttachFirmware(&boot, state_dir / "firmware-upload",
                         state_dir / "firmware-events-audited");

  std::signal(SIGINT, OnStop);
  std::signal(SIGTERM, OnStop);
  // Where and how to listen: the running signed config says, the command line may
  // override, and without either it is loopback:4443.
  const std::optional<schema::ConfigBundle> running = (*store)->Running();
  const schema::Management management =
      running ? running->config().management() : schema::Management{};
  if (listen.empty())
    listen = management.listen_address().empty() ? "127.0.0.1" : management.listen_address();
  if (port < 0) port = management.listen_port() ? static_cast<int>(management.listen_port()) : 4443;
  mgmt::tls::TlsServerConfig tls_config{.listen_address = listen,
                                        .port = static_cast<uint16_t>(port),
                                        .ca_pem = files->ca_pem,
                                        .cert_pem = files->server.cert_pem,
                                        .key_pem = files->server.key_pem};
  if (management.max_clients()) tls_config.max_clients = management.max_clients();
  if (management.session_idle_timeout_s())
    tls_config.idle_timeout = std::chrono::seconds(management.session_idle_timeout_s());
  // Read before the listener starts: from then on the store is the service's, changed by
  // connection threads under its lock.
  const uint64_t running_version = (*store)->running_version();
  auto server = mgmt::tls::TlsServer::Start(
      tls_config, [&service](const mgmt::tls::ClientIdentity& who, const std::string& frame) {
        return service.HandleFrame({.name = who.common_name, .key_id = who.key_id}, frame);
      });
  if (!server) return Fail(kExitFailure, server.error());
  if (ca) {
    // KEY_ROTATE mgmtd-tls: a new server key and certificate, on disk first, then
    // presented from the next handshake on.
    service.AttachKeyRotation(
        "mgmtd-tls",
        [&, current = files->server.cert_pem]() mutable -> std::expected<std::string, std::string> {
          const auto old_key = mgmt::pki::KeyFingerprint(current);
          auto fresh = firmware::mgmtd::RotateServerCredential(key_store, *ca);
          if (!fresh) return std::unexpected(fresh.error());
          current = fresh->cert_pem;
          if (auto ok = (*server)->ReplaceCredential(fresh->cert_pem, fresh->key_pem); !ok)
            return std::unexpected("stored, but not yet served (restart sbc-mgmtd): " + ok.error());
          return "key " + old_key.value_or("?") + " -> " +
                 mgmt::pki::KeyFingerprint(fresh->cert_pem).value_or("?");
        });
  }
  std::unique_ptr<mgmt::control::ConsoleServer> console;
  if (console_socket != "none") {
    mgmt::control::ConsoleServerConfig console_config{
        .socket_path = console_socket.empty()
                           ? board::ResolveStoragePath(*board, "run/console.sock").string()
                           : console_socket};
    console_config.idle_timeout = tls_config.idle_timeout;
    auto started = mgmt::control::ConsoleServer::Start(
        console_config,
        [&service](const std::string& user, const std::string& password) {
          return service.ConsoleLogin(user, password);
        },
        [&service](const std::string& user, const std::string& frame) {
          return service.HandleFrame({.name = user, .console = true}, frame);
        });
    if (!started) return Fail(kExitFailure, "console: " + started.error());
    console = std::move(*started);
    std::cout << "sbc-mgmtd: console login on " << console_config.socket_path << std::endl;
  }
  std::cout << "sbc-mgmtd: control API on " << listen << ":" << (*server)->port()
            << " (TLS 1.2, client certificates required); running config version "
            << running_version << std::endl;
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (!g_stop.load()) service.Tick();
  }
  if (console) console->Stop();
  (*server)->Stop();
  std::cout << "sbc-mgmtd: stopped" << std::endl;
  return kExitOk;
} catch (const std::exception& e) {
  // Nothing is meant to throw this far: say what did, rather than abort without a word.
  std::cerr << "sbc-mgmtd: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
