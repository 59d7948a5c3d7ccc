// The management daemon's files on the board's key store.
//   trust-root.textproto, identity.textproto  (mgmt/trust)
//   mgmt-ca.pem, mgmt-ca.key                   the management CA
//   mgmtd.pem, mgmtd.key                        the daemon's TLS server credential
//   users.textproto                             certificate CN -> roles
#pragma once

#include <expected>
#include <filesystem>
#include <string>

#include "sbc/mgmt/pki/certificate_authority.h"
#include "sbc/schema/control.pb.h"

namespace sbc::firmware::mgmtd {

inline constexpr char kCaCert[] = "mgmt-ca.pem";
inline constexpr char kCaKey[] = "mgmt-ca.key";
inline constexpr char kServerCert[] = "mgmtd.pem";
inline constexpr char kServerKey[] = "mgmtd.key";
inline constexpr char kUsers[] = "users.textproto";

struct KeyStoreFiles {
  std::string ca_pem;
  mgmt::pki::Credential server;
  schema::UserDirectory users;
};

// Reads what the daemon needs to serve; one line naming the missing or bad file.
[[nodiscard]] std::expected<KeyStoreFiles, std::string> LoadKeyStore(const std::filesystem::path& dir);

// Development provisioning: a new management CA, the daemon's certificate, and one
// administrator (`admin`, every role) whose credential is written to `client_dir`
// (admin.pem, admin.key, ca.pem). Refuses to overwrite an existing CA. Private keys
// are created 0600.
[[nodiscard]] std::expected<void, std::string> ProvisionDevelopment(const std::filesystem::path& key_store,
                                                                    const std::string& admin,
                                                                    const std::filesystem::path& client_dir);

}  // namespace sbc::firmware::mgmtd
