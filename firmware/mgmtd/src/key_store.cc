#include "key_store.h"

#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <cstdio>

#include "sbc/mgmt/base/atomic_file.h"
#include "sbc/mgmt/tls/tls_config.h"
#include "sbc/schema/text_file.h"

namespace sbc::firmware::mgmtd {
namespace {

std::expected<void, std::string> WritePrivate(const std::filesystem::path& file,
                                              const std::string& text) {
  const int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(file.string() + ": cannot create (exists?)");
  const bool ok =
      write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) return std::unexpected(file.string() + ": write failed");
  return {};
}

std::expected<void, std::string> WritePublic(const std::filesystem::path& file,
                                             const std::string& text) {
  return mgmt::base::WriteFileAtomically(file.parent_path(), file.filename().string(), text);
}

// Renames `from` over `to` in `dir` and makes the rename durable.
std::expected<void, std::string> RenameDurably(const std::filesystem::path& dir, const char* from,
                                               const char* to) {
  if (std::rename((dir / from).c_str(), (dir / to).c_str()) != 0)
    return std::unexpected((dir / from).string() + ": cannot rename to " + to);
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!synced) return std::unexpected(dir.string() + ": cannot sync the directory");
  return {};
}

std::expected<void, std::string> FinishInterruptedRotation(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / kServerKeyNext)) return {};
  auto next_key = mgmt::base::ReadFile(dir / kServerKeyNext);
  auto cert = mgmt::base::ReadFile(dir / kServerCert);
  if (next_key && cert && mgmt::pki::KeyMatchesCertificate(*cert, *next_key))
    return RenameDurably(dir, kServerKeyNext, kServerKey);  // the certificate was replaced: finish
  std::error_code ec;
  std::filesystem::remove(dir / kServerKeyNext,
                          ec);  // cut before the certificate: the old pair stands
  return {};
}

}  // namespace

std::expected<void, std::string> WriteUsers(const std::filesystem::path& key_store,
                                            const schema::UserDirectory& users) {
  std::string text =
      "# Who may use the control API (client certificate CN -> roles) and console\n"
      "# break-glass password hashes. Changed through sbcctl users; keep it 0600.\n";
  std::string body;
  google::protobuf::TextFormat::PrintToString(users, &body);
  return mgmt::base::WriteFileAtomically(key_store, kUsers, text + body);
}

std::expected<mgmt::pki::Credential, std::string> RotateServerCredential(
    const std::filesystem::path& key_store, mgmt::pki::CertificateAuthority& ca) {
  auto fresh = ca.Issue(mgmt::tls::kServerName, mgmt::pki::Purpose::kServer);
  if (!fresh) return std::unexpected(fresh.error());
  std::error_code ec;
  std::filesystem::remove(key_store / kServerKeyNext,
                          ec);  // left by a rotation that failed earlier
  if (auto ok = WritePrivate(key_store / kServerKeyNext, fresh->key_pem); !ok)
    return std::unexpected(ok.error());
  const auto written = WritePublic(key_store / kServerCert, fresh->cert_pem);
  // The same step a restart would take: the key is renamed into place exactly when the
  // certificate on disk is the new one (even if the write reported a late failure).
  if (auto ok = FinishInterruptedRotation(key_store); !ok) return std::unexpected(ok.error());
  if (auto cert = mgmt::base::ReadFile(key_store / kServerCert); cert && *cert == fresh->cert_pem)
    return *fresh;
  return std::unexpected(written ? (key_store / kServerCert).string() + ": not replaced"
                                 : written.error());
}

std::expected<KeyStoreFiles, std::string> LoadKeyStore(const std::filesystem::path& dir) {
  if (auto ok = FinishInterruptedRotation(dir); !ok)
    return std::unexpected("key store: " + ok.error());
  KeyStoreFiles files;
  auto read = [&](const char* name) -> std::expected<std::string, std::string> {
    auto bytes = mgmt::base::ReadFile(dir / name);
    if (!bytes)
      return std::unexpected("key store: " + (dir / name).string() + " is missing or unreadable");
    return bytes;
  };
  auto ca = read(kCaCert);
  if (!ca) return std::unexpected(ca.error());
  auto cert = read(kServerCert);
  if (!cert) return std::unexpected(cert.error());
  auto key = read(kServerKey);
  if (!key) return std::unexpected(key.error());
  if (auto ok = schema::ParseTextFile(dir / kUsers, "users", &files.users); !ok)
    return std::unexpected(ok.error().front());
  files.ca_pem = *ca;
  files.server = {*cert, *key};
  return files;
}

std::expected<void, std::string> ProvisionDevelopment(const std::filesystem::path& key_store,
                                                      const std::string& admin,
                                                      const std::filesystem::path& client_dir) {
  std::error_code ec;
  std::filesystem::create_directories(key_store, ec);
  std::filesystem::create_directories(client_dir, ec);
  if (std::filesystem::exists(key_store / kCaKey))
    return std::unexpected((key_store / kCaKey).string() +
                           " exists: this appliance is provisioned already");
  auto ca = mgmt::pki::CertificateAuthority::Create("SBC Management CA (development)");
  if (!ca) return std::unexpected(ca.error());
  auto server = (*ca)->Issue(mgmt::tls::kServerName, mgmt::pki::Purpose::kServer);
  if (!server) return std::unexpected(server.error());
  auto operator_credential = (*ca)->Issue(admin, mgmt::pki::Purpose::kClient);
  if (!operator_credential) return std::unexpected(operator_credential.error());

  schema::UserDirectory users;
  schema::User* user = users.add_users();
  user->set_name(admin);
  for (schema::Role r : {schema::VIEWER, schema::OPERATOR, schema::AUDITOR, schema::SECURITY_ADMIN})
    user->add_roles(r);
  auto key = mgmt::pki::KeyId(operator_credential->cert_pem);
  if (!key) return std::unexpected("the administrator's certificate: " + key.error());
  user->add_keys(*key);  // the one certificate the administrator authenticates with
  for (auto step :
       {WritePrivate(key_store / kCaKey, (*ca)->credential().key_pem),
        WritePublic(key_store / kCaCert, (*ca)->credential().cert_pem),
        WritePrivate(key_store / kServerKey, server->key_pem),
        WritePublic(key_store / kServerCert, server->cert_pem), WriteUsers(key_store, users),
        WritePrivate(client_dir / (admin + ".key"), operator_credential->key_pem),
        WritePublic(client_dir / (admin + ".pem"), operator_credential->cert_pem),
        WritePublic(client_dir / "ca.pem", (*ca)->credential().cert_pem)})
    if (!step) return std::unexpected(step.error());
  return {};
}

}  // namespace sbc::firmware::mgmtd
