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
inline constexpr char kServerKeyNext[] = "mgmtd.key.next";  // only while a rotation is under way
inline constexpr char kUsers[] = "users.textproto";

struct KeyStoreFiles {
  std::string ca_pem;
  mgmt::pki::Credential server;
  schema::UserDirectory users;
};

// Reads what the daemon needs to serve; one line naming the missing or bad file.
// First finishes a key rotation that a crash cut short (see RotateServerCredential).
[[nodiscard]] std::expected<KeyStoreFiles, std::string> LoadKeyStore(
    const std::filesystem::path& dir);

// Development provisioning: a new management CA, the daemon's certificate, and one
// administrator (`admin`, every role) whose credential is written to `client_dir`
// (admin.pem, admin.key, ca.pem). Refuses to overwrite an existing CA. Private keys
// are created 0600.
[[nodiscard]] std::expected<void, std::string> ProvisionDevelopment(
    const std::filesystem::path& key_store, const std::string& admin,
    const std::filesystem::path& client_dir);

// Replaces users.textproto (atomically) with `users`.
[[nodiscard]] std::expected<void, std::string> WriteUsers(const std::filesystem::path& key_store,
                                                          const schema::UserDirectory& users);

// KEY_ROTATE "mgmtd-tls": a new key and a certificate for it from `ca`, stored so
// that a crash at any point leaves a matching pair: the key goes to mgmtd.key.next,
// then the certificate replaces mgmtd.pem, then the key is renamed over mgmtd.key.
// LoadKeyStore completes the rename if the certificate is the new one, else drops
// the half-made key. Returns the new credential.
[[nodiscard]] std::expected<mgmt::pki::Credential, std::string> RotateServerCredential(
    const std::filesystem::path& key_store, mgmt::pki::CertificateAuthority& ca);

}  // namespace sbc::firmware::mgmtd
